/* synth.c: synthetic customers and planted propensity models (see synth.h).
 * Streams of the counter RNG: 1 features, 2 labels, 3 coefficients,
 * 4 the intercept-calibration sample. */
#include "gen/synth.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/parse.h"
#include "core/rng.h"
#include "core/util.h"

enum {
  K_RECENCY, K_FREQ, K_MONETARY, K_BASKET, K_TENURE, K_OPEN, K_APP, K_REGION, K_CHANNEL, K_LOYAL,
  K_CONST, K_DUP, K_CAMPAIGN, K_DISCOUNT, K_TICKETS, K_AFFINITY
};

/* The named columns, in order; columns past these are affinity groups. */
static const struct { const char *name; int kind; } NAMED[] = {
  {"recency_days", K_RECENCY},       {"frequency_12m", K_FREQ},      {"monetary_12m", K_MONETARY},
  {"avg_basket_value", K_BASKET},    {"tenure_months", K_TENURE},    {"email_open_rate", K_OPEN},
  {"app_user", K_APP},               {"region_north", K_REGION},     {"region_south", K_REGION},
  {"region_east", K_REGION},         {"region_west", K_REGION},      {"channel_store", K_CHANNEL},
  {"channel_web", K_CHANNEL},        {"channel_app", K_CHANNEL},     {"loyalty_member", K_LOYAL},
  {"country_code", K_CONST},         {"monetary_12m_copy", K_DUP},   {"campaign_responses_6m", K_CAMPAIGN},
  {"discount_share", K_DISCOUNT},    {"support_tickets_12m", K_TICKETS},
};
#define N_NAMED ((int)(sizeof NAMED / sizeof NAMED[0]))
#define AFF_GROUP 8      /* affinity columns per correlated group */
#define NAN_RATE 0.01
#define CALIB_ROWS 20000
#define CALIB_ROW0 ((int64_t)1 << 50) /* virtual rows, outside any real N */

static double sigm(double z) { return 1.0 / (1.0 + exp(-z)); }

/* Columns that get ~1% NaN: tenure, open rate, discount share, every 4th affinity. */
static int has_nan(int64_t j) {
  return j == 4 || j == 5 || j == 18 || (j >= N_NAMED && (j - N_NAMED) % 4 == 1);
}

int64_t synth_customer_id(int64_t row) { return (int64_t)1000000000 + row; }

void synth_row(const synth_t *s, int64_t row, float *x) {
  const uint64_t S = s->seed, ST = 1;
  const uint64_t r = (uint64_t)row;
  double eng = ps_rng_normal(S, ST, r, 0), val = ps_rng_normal(S, ST, r, 2), loy = ps_rng_normal(S, ST, r, 4);
  double v[N_NAMED];
  double noise[N_NAMED];
  for (int j = 0; j < N_NAMED; j++) noise[j] = ps_rng_normal(S, ST, r, 1000 + 2 * (uint64_t)j);
  double u_region = ps_rng_unif(S, ST, r, 10), u_channel = ps_rng_unif(S, ST, r, 11);
  v[0] = fmin(730.0, floor(-log(ps_rng_unif(S, ST, r, 12)) * 45.0 * exp(-0.6 * eng)));
  v[1] = ps_rng_poisson(exp(1.2 + 0.5 * eng + 0.2 * loy), S, ST, r, 14);
  v[2] = round(100.0 * exp(3.5 + 0.8 * val + 0.3 * eng + 0.6 * noise[2])) / 100.0;
  v[3] = round(100.0 * v[2] / (v[1] + 1.0)) / 100.0;
  v[4] = floor(1.0 + 119.0 * sigm(loy + 0.5 * noise[4]));
  v[5] = sigm(-1.0 + 0.8 * eng + 0.7 * noise[5]);
  v[6] = ps_rng_unif(S, ST, r, 16) < sigm(-0.5 + eng) ? 1.0 : 0.0;
  int region = u_region < 0.30 ? 0 : u_region < 0.55 ? 1 : u_region < 0.80 ? 2 : 3;
  for (int k = 0; k < 4; k++) v[7 + k] = region == k ? 1.0 : 0.0;
  double p_app = v[6] > 0 ? 0.45 : 0.05, p_web = 0.35;
  int channel = u_channel < p_app ? 2 : u_channel < p_app + p_web ? 1 : 0;
  for (int k = 0; k < 3; k++) v[11 + k] = channel == k ? 1.0 : 0.0;
  v[14] = ps_rng_unif(S, ST, r, 18) < sigm(loy) ? 1.0 : 0.0;
  v[15] = 1.0;
  v[16] = v[2];
  v[17] = ps_rng_poisson(exp(-1.0 + 0.6 * eng), S, ST, r, 20);
  v[18] = pow(ps_rng_unif(S, ST, r, 22), 1.5);
  v[19] = ps_rng_poisson(exp(-1.5 - 0.4 * loy), S, ST, r, 24);

  int64_t f = s->f;
  for (int64_t j = 0; j < f; j++) {
    double xv;
    if (j < N_NAMED) {
      xv = v[j];
    } else {
      int64_t g = (j - N_NAMED) / AFF_GROUP;
      double lat = ps_rng_normal(S, ST, r, 100 + 2 * (uint64_t)g);
      xv = 0.8 * lat + 0.6 * ps_rng_normal(S, ST, r, 1000 + 2 * (uint64_t)j);
    }
    if (has_nan(j) && ps_rng_unif(S, ST, r, 50000 + (uint64_t)j) < NAN_RATE) xv = NAN;
    x[j] = (float)xv;
  }
}

/* The planted model sees each feature through a transform that puts it on a
 * unit scale (log for the heavy-tailed ones); NaN contributes 0. */
static double transform(int kind, double x) {
  if (isnan(x)) return 0.0;
  switch (kind) {
    case K_RECENCY: return (x - 50.0) / 70.0;
    case K_FREQ: return (x - 3.8) / 3.0;
    case K_MONETARY: return (log(x + 0.01) - 3.5) / 0.9;
    case K_BASKET: return (log1p(x) - 2.5) / 1.0;
    case K_TENURE: return (x - 60.0) / 35.0;
    case K_OPEN: return (x - 0.3) / 0.2;
    case K_CAMPAIGN: return (x - 0.5) / 0.8;
    case K_DISCOUNT: return (x - 0.4) / 0.3;
    case K_TICKETS: return (x - 0.3) / 0.6;
    case K_CONST: case K_DUP: return 0.0;
    case K_AFFINITY: return x;
    default: return x - 0.5; /* flags and one-hot columns */
  }
}

double synth_prob(const synth_t *s, int t, const float *x) {
  const double *b = s->coef + (size_t)t * (size_t)s->f;
  double z = s->intercept[t];
  for (int64_t j = 0; j < s->f; j++)
    if (b[j] != 0.0) z += b[j] * transform(s->kind[j], x[j]);
  const double *nl = s->nl + 3 * t;
  if (s->f > 6) { /* interaction: app user x email engagement */
    double open = isnan(x[5]) ? 0.0 : (x[5] - 0.3) / 0.2;
    z += nl[0] * x[6] * open;
  }
  if (s->f > 0) z += nl[1] * (x[0] < 30.0 ? 1.0 : 0.0);      /* threshold: recent visit */
  if (s->f > N_NAMED && !isnan(x[N_NAMED]))                   /* hinge on an affinity */
    z += nl[2] * fmax(0.0, x[N_NAMED] - 1.0);
  return sigm(z);
}

int synth_treated(const synth_t *s, int64_t row) { return ps_rng_unif(s->seed, 3, (uint64_t)row, 0) < 0.5; }

void synth_uplift_probs(const synth_t *s, int t, const float *x, double *p_c, double *p_t) {
  double pc = synth_prob(s, t, x);
  double open = isnan(x[5]) ? 0.0 : (x[5] - 0.3) / 0.2;
  double tau = -0.5 + 1.5 * (double)x[6] + 0.6 * open;
  *p_c = pc;
  *p_t = sigm(log(pc / (1.0 - pc)) + tau);
}

int synth_label(const synth_t *s, int t, int64_t row, double p) {
  return ps_rng_unif(s->seed, 2, (uint64_t)row, (uint64_t)t) < p;
}

/* Signs that make the named targets behave like their names. */
static void named_signs(const char *target, double *b, int64_t f) {
  static const double purchase[N_NAMED] = {-0.6, 0.5, 0.25, 0, 0, 0.35, 0.3, 0, 0, 0, 0, 0, 0, 0, 0.2, 0, 0, 0.4, 0.2, 0};
  static const double churn[N_NAMED] = {0.7, -0.4, -0.15, 0, -0.4, -0.3, -0.2, 0, 0, 0, 0, 0, 0, 0, -0.4, 0, 0, 0, 0, 0.5};
  const double *src = strncmp(target, "purchase", 8) == 0 ? purchase : strcmp(target, "churn") == 0 ? churn : NULL;
  if (!src) return;
  for (int64_t j = 0; j < f && j < N_NAMED; j++) b[j] = src[j];
}

void synth_init(synth_t *s, uint64_t seed, int64_t f, const char *targets_spec) {
  memset(s, 0, sizeof *s);
  s->seed = seed;
  s->f = f;
  s->names = ps_calloc((size_t)f + 1, sizeof(char *));
  s->kind = ps_calloc((size_t)f, sizeof(int));
  for (int64_t j = 0; j < f; j++) {
    char buf[64];
    if (j < N_NAMED) {
      s->names[j] = ps_strdup(NAMED[j].name);
      s->kind[j] = NAMED[j].kind;
    } else {
      int64_t a = j - N_NAMED;
      snprintf(buf, sizeof buf, "affinity_g%lld_%lld", (long long)(a / AFF_GROUP), (long long)(a % AFF_GROUP));
      s->names[j] = ps_strdup(buf);
      s->kind[j] = K_AFFINITY;
    }
  }
  int k = 0;
  char **spec = ps_split(targets_spec, ',', &k);
  if (k < 1) ps_die_all(PS_EXIT_USAGE, "--targets: no target names given");
  s->k = k;
  s->targets = ps_calloc((size_t)k + 1, sizeof(char *));
  s->rate = ps_calloc((size_t)k, sizeof(double));
  s->coef = ps_calloc((size_t)k * (size_t)f, sizeof(double));
  s->intercept = ps_calloc((size_t)k, sizeof(double));
  s->nl = ps_calloc((size_t)k * 3, sizeof(double));
  for (int t = 0; t < k; t++) {
    char *colon = strchr(spec[t], ':');
    if (colon) {
      *colon = 0;
      s->rate[t] = ps_parse_double("--targets rate", colon + 1, 1e-6, 1 - 1e-6);
    } else {
      s->rate[t] = strncmp(spec[t], "purchase", 8) == 0 ? 0.04 : strcmp(spec[t], "churn") == 0 ? 0.10 : 0.05;
    }
    if (!spec[t][0] || strchr(spec[t], '/')) ps_die_all(PS_EXIT_USAGE, "--targets: bad target name '%s'", spec[t]);
    for (int u = 0; u < t; u++)
      if (strcmp(s->targets[u], spec[t]) == 0) ps_die_all(PS_EXIT_USAGE, "--targets: '%s' given twice", spec[t]);
    s->targets[t] = ps_strdup(spec[t]);
    double *b = s->coef + (size_t)t * (size_t)f;
    for (int64_t j = 0; j < f; j++) { /* sparse random effects: ~35% of columns */
      uint64_t key = (uint64_t)t * 1000003u + (uint64_t)j;
      if (ps_rng_unif(seed, 3, key, 0) < 0.35) b[j] = 0.4 * ps_rng_normal(seed, 3, key, 2);
      if (s->kind[j] == K_CONST || s->kind[j] == K_DUP) b[j] = 0.0;
    }
    named_signs(s->targets[t], b, f);
    for (int m = 0; m < 3; m++) s->nl[3 * t + m] = 0.25 + 0.15 * ps_rng_unif(seed, 3, (uint64_t)t, 10 + (uint64_t)m);
  }
  ps_free_strv(spec);

  /* Intercepts: bisection so that the mean true probability over a fixed
   * virtual sample (independent of N and P) equals the wanted rate. */
  float *xs = ps_malloc(sizeof(float) * (size_t)f * CALIB_ROWS);
  for (int i = 0; i < CALIB_ROWS; i++) synth_row(s, CALIB_ROW0 + i, xs + (size_t)i * (size_t)f);
  for (int t = 0; t < k; t++) {
    double lo = -30, hi = 30;
    for (int it = 0; it < 60; it++) {
      s->intercept[t] = 0.5 * (lo + hi);
      double m = 0;
      for (int i = 0; i < CALIB_ROWS; i++) m += synth_prob(s, t, xs + (size_t)i * (size_t)f);
      if (m / CALIB_ROWS > s->rate[t]) hi = s->intercept[t]; else lo = s->intercept[t];
    }
  }
  free(xs);
}

void synth_free(synth_t *s) {
  ps_free_strv(s->names);
  ps_free_strv(s->targets);
  free(s->kind);
  free(s->rate);
  free(s->coef);
  free(s->intercept);
  free(s->nl);
  memset(s, 0, sizeof *s);
}

double synth_cluster_center(const synth_t *s, int cluster, int64_t col) {
  return 3.0 * ps_rng_normal(s->seed, 77, (uint64_t)cluster, 2 * (uint64_t)col);
}

int synth_cluster_row(const synth_t *s, int clusters, int64_t row, float *x) {
  int q = (int)(ps_rng_unif(s->seed, 78, (uint64_t)row, 0) * clusters);
  if (q >= clusters) q = clusters - 1;
  for (int64_t j = 0; j < s->f; j++)
    x[j] = (float)(synth_cluster_center(s, q, j) + ps_rng_normal(s->seed, 79, (uint64_t)row, 2 * (uint64_t)j));
  return q;
}
