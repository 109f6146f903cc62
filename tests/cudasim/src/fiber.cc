/* fiber.cc: the context switch behind the emulated lanes: each lane of a
 * warp is a fiber with its own stack on the warp's OS thread. x86-64: a
 * few instructions saving the callee-saved registers, the SSE control word
 * and the x87 control word (the System V ABI's non-volatile state); other
 * machines: ucontext (slower: it saves the signal mask too). */
#include "internal.h"

#if defined(__x86_64__)
extern "C" void cudasim_fiber_switch(void **save_sp, void *load_sp);
extern "C" void cudasim_fiber_start();
asm(R"(
  .text
  .globl cudasim_fiber_switch
  .type cudasim_fiber_switch, @function
cudasim_fiber_switch:
  .cfi_startproc
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $8, %rsp
  stmxcsr (%rsp)
  fnstcw 4(%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr (%rsp)
  fldcw 4(%rsp)
  addq $8, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .cfi_endproc
  .size cudasim_fiber_switch, .-cudasim_fiber_switch

  .globl cudasim_fiber_start
  .type cudasim_fiber_start, @function
cudasim_fiber_start:
  .cfi_startproc
  .cfi_undefined rip
  movq %r12, %rdi
  callq *%r13
  ud2
  .cfi_endproc
  .size cudasim_fiber_start, .-cudasim_fiber_start
  .section .note.GNU-stack,"",@progbits
  .text
)");

namespace cudasim {
namespace fiber {
void make(Context *c, void *stack_lo, size_t stack_bytes, void (*entry)(void *), void *arg) {
  uintptr_t top = ((uintptr_t)stack_lo + stack_bytes) & ~(uintptr_t)15;
  uint64_t *sp = (uint64_t *)(top - 16 - 8 * 8); /* 16-aligned: after the ret below, rsp % 16 == 0 */
  uint32_t csr[2];
  __asm__ volatile("stmxcsr %0" : "=m"(csr[0]));
  __asm__ volatile("fnstcw %0" : "=m"(csr[1]));
  sp[0] = (uint64_t)csr[0] | ((uint64_t)(csr[1] & 0xffff) << 32);
  sp[1] = 0;                        /* r15 */
  sp[2] = 0;                        /* r14 */
  sp[3] = (uint64_t)entry;          /* r13 */
  sp[4] = (uint64_t)arg;            /* r12 */
  sp[5] = 0;                        /* rbx */
  sp[6] = 0;                        /* rbp */
  sp[7] = (uint64_t)&cudasim_fiber_start; /* return address */
  c->sp = sp;
}
void swap(Context *from, Context *to) { cudasim_fiber_switch(&from->sp, to->sp); }
} // namespace fiber
} // namespace cudasim

#else
#include <ucontext.h>

#include <cstdlib>

namespace cudasim {
namespace fiber {
namespace {
struct Uc {
  ucontext_t uc;
  void (*entry)(void *);
  void *arg;
};
void trampoline(unsigned hi, unsigned lo) {
  Uc *u = (Uc *)(((uintptr_t)hi << 32) | (uintptr_t)lo);
  u->entry(u->arg);
  abort();
}
} // namespace
void make(Context *c, void *stack_lo, size_t stack_bytes, void (*entry)(void *), void *arg) {
  Uc *u = new Uc();
  getcontext(&u->uc);
  u->uc.uc_stack.ss_sp = stack_lo;
  u->uc.uc_stack.ss_size = stack_bytes;
  u->uc.uc_link = nullptr;
  u->entry = entry;
  u->arg = arg;
  uintptr_t p = (uintptr_t)u;
  makecontext(&u->uc, (void (*)())trampoline, 2, (unsigned)(p >> 32), (unsigned)p);
  c->sp = u;
}
void swap(Context *from, Context *to) {
  if (!from->sp) from->sp = new Uc();
  swapcontext(&((Uc *)from->sp)->uc, &((Uc *)to->sp)->uc);
}
} // namespace fiber
} // namespace cudasim
#endif
