# tests.cmake: the emulated device's own tests, included by tests/CMakeLists.txt
# in -DPROPSCORE_CUDA_SIM=ON builds: test_cudasim (what must work as on a GPU,
# and the planted faults it must catch), each kernel bench on tiny sizes, the
# logistic-regression kernel tests under smaller opt-in shared memory, and
# the kernel tests with the lanes of each warp in a shuffled order.
add_executable(test_cudasim)
cudasim_cu(test_cudasim ${CMAKE_CURRENT_SOURCE_DIR}/cudasim/test_cudasim.cu)
target_include_directories(test_cudasim PRIVATE ${PS_INCLUDES})
target_compile_definitions(test_cudasim PRIVATE ${PS_DEFS})
target_link_libraries(test_cudasim PRIVATE cudasim)
add_test(NAME gpu.test_cudasim COMMAND $<TARGET_FILE:test_cudasim>)
set_tests_properties(gpu.test_cudasim PROPERTIES ENVIRONMENT "${PS_GPU_ENV}" LABELS "gpu;gpu-c;cudasim" TIMEOUT 600)

# each kernel bench (kernels/*/bench_<kernel>.cu, less the harness and the
# tree benches' data) on tiny sizes: exit 1 if a kernel's values disagree
# with its CPU twin (#wrong > 0), 2 if bench_main.cu does not list it
foreach(src ${PS_BENCH_SRC})
  get_filename_component(bench ${src} NAME_WE)
  string(REGEX REPLACE "^bench_" "" bench ${bench})
  if(bench MATCHES "^(common|main|trees)$")
    continue()
  endif()
  add_test(NAME gpu.bench_${bench} COMMAND $<TARGET_FILE:propscore-bench> --rows 3001 --check-rows 2000 --features 17
           --reps 1 ${bench})
  set_tests_properties(gpu.bench_${bench} PROPERTIES ENVIRONMENT "${PS_GPU_ENV}" LABELS "gpu;cudasim"
                       SKIP_RETURN_CODE 77 TIMEOUT 600)
endforeach()

# the logistic-regression kernels again on devices with less opt-in shared
# memory per block: 163 KiB (sm_80) and 99 KiB (sm_86/89)
foreach(optin 166912 101376)
  add_test(NAME gpu.test_logreg_kernels_smem${optin} COMMAND $<TARGET_FILE:test_logreg_kernels>)
  set_tests_properties(gpu.test_logreg_kernels_smem${optin} PROPERTIES
                       ENVIRONMENT "${PS_GPU_ENV};PROPSCORE_CUDASIM_SMEM_OPTIN=${optin}" LABELS "gpu;cudasim" TIMEOUT 600)
endforeach()

# the kernel tests again with the lanes of each warp run in a shuffled order
add_test(NAME gpu.test_logreg_kernels_shuffled COMMAND $<TARGET_FILE:test_logreg_kernels>)
set_tests_properties(gpu.test_logreg_kernels_shuffled PROPERTIES
                     ENVIRONMENT "${PS_GPU_ENV};PROPSCORE_CUDASIM_SCHEDULE=random:7" LABELS "gpu;cudasim" TIMEOUT 600)
add_test(NAME gpu.test_gbdt_kernels_shuffled COMMAND $<TARGET_FILE:test_gbdt_kernels>)
set_tests_properties(gpu.test_gbdt_kernels_shuffled PROPERTIES
                     ENVIRONMENT "${PS_GPU_ENV};PROPSCORE_CUDASIM_SCHEDULE=random:7" LABELS "gpu;cudasim" TIMEOUT 600)

# the k-means Lloyd pass with 48 KiB of opt-in shared memory (its smaller
# row tiles) and with the lanes shuffled (its shared-memory update's barriers)
add_test(NAME gpu.test_kmeans_kernels_smem49152 COMMAND $<TARGET_FILE:test_kmeans_kernels>)
set_tests_properties(gpu.test_kmeans_kernels_smem49152 PROPERTIES
                     ENVIRONMENT "${PS_GPU_ENV};PROPSCORE_CUDASIM_SMEM_OPTIN=49152" LABELS "gpu;cudasim" TIMEOUT 600)
add_test(NAME gpu.test_kmeans_kernels_shuffled COMMAND $<TARGET_FILE:test_kmeans_kernels>)
set_tests_properties(gpu.test_kmeans_kernels_shuffled PROPERTIES
                     ENVIRONMENT "${PS_GPU_ENV};PROPSCORE_CUDASIM_SCHEDULE=random:7" LABELS "gpu;cudasim" TIMEOUT 600)
