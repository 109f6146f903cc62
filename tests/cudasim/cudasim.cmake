# cudasim.cmake: the emulated CUDA device, included by the top CMakeLists.txt
# with -DPROPSCORE_CUDA_SIM=ON. No nvcc: the kernels (kernels/**/*.cu) are
# compiled as C++17 by the host compiler against tests/cudasim/include
# (cuda_runtime.h, cublas_v2.h, nccl.h, ... of the emulator), the CUDA
# backend and the NCCL transport as in the CUDA build, and linked with the
# emulator (src/): CPU threads and fibers for the device, OpenBLAS for
# cuBLAS, MPI for NCCL. See docs/TESTING.md.
if(PROPSCORE_CUDA)
  message(FATAL_ERROR "PROPSCORE_CUDA and PROPSCORE_CUDA_SIM exclude each other: one builds for a GPU with nvcc, "
                      "the other for the emulated device")
endif()
enable_language(CXX)
set(CMAKE_CXX_STANDARD 17)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)
set(CMAKE_CXX_FLAGS_RELWITHDEBINFO "-O2 -g")
find_package(MPI REQUIRED COMPONENTS C)

set(CUDASIM_DIR ${CMAKE_SOURCE_DIR}/tests/cudasim)
# the emulator's headers come first: they stand in for the CUDA toolkit's
list(PREPEND PS_INCLUDES ${CUDASIM_DIR}/include)
list(APPEND PS_DEFS PROPSCORE_HAVE_CUDA=1 PROPSCORE_CUDA_SIM=1)

add_library(cudasim STATIC ${CUDASIM_DIR}/src/runtime.cc ${CUDASIM_DIR}/src/exec.cc ${CUDASIM_DIR}/src/fiber.cc
                           ${CUDASIM_DIR}/src/cublas.cc)
target_include_directories(cudasim PUBLIC ${CUDASIM_DIR}/include)
target_compile_options(cudasim PRIVATE -Wall -Wextra -Wno-unused-parameter)
target_link_libraries(cudasim PUBLIC PkgConfig::OPENBLAS Threads::Threads)
if(PROPSCORE_TSAN) # the engine is not instrumented: it tells TSan CUDA's happens-before itself (exec.cc)
  set_source_files_properties(${CUDASIM_DIR}/src/exec.cc ${CUDASIM_DIR}/src/fiber.cc PROPERTIES
                              COMPILE_OPTIONS -fno-sanitize=thread)
endif()
add_library(cudasim_nccl STATIC ${CUDASIM_DIR}/src/nccl.cc)
target_include_directories(cudasim_nccl PUBLIC ${CUDASIM_DIR}/include)
target_compile_options(cudasim_nccl PRIVATE -Wall -Wextra -Wno-unused-parameter)
target_link_libraries(cudasim_nccl PUBLIC cudasim MPI::MPI_C)

# cudasim_cu(<target> <file.cu>...): add .cu files to a target, compiled as C++
# after rewrite.cmake's one change (extern __shared__ arrays)
function(cudasim_cu target)
  foreach(cu ${ARGN})
    get_filename_component(cu ${cu} ABSOLUTE)
    file(RELATIVE_PATH rel ${CMAKE_SOURCE_DIR} ${cu})
    set(out ${CMAKE_BINARY_DIR}/cudasim-src/${rel}.cc)
    get_filename_component(dir ${cu} DIRECTORY)
    add_custom_command(OUTPUT ${out}
      COMMAND ${CMAKE_COMMAND} -DIN=${cu} -DOUT=${out} -P ${CUDASIM_DIR}/rewrite.cmake
      DEPENDS ${cu} ${CUDASIM_DIR}/rewrite.cmake VERBATIM)
    set_source_files_properties(${out} PROPERTIES COMPILE_OPTIONS "-include;cuda_runtime.h;-iquote;${dir}")
    target_sources(${target} PRIVATE ${out})
  endforeach()
  target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wshadow -Wno-unused-parameter
                                           -Wno-unknown-pragmas -Wno-sign-compare>)
endfunction()

# the CUDA backend: kernels + backend_cuda.c, as pscuda_obj in the nvcc build
file(GLOB PS_CUDA_SRC CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/kernels/common/*.cu ${CMAKE_SOURCE_DIR}/kernels/logreg/*.cu
     ${CMAKE_SOURCE_DIR}/kernels/kmeans/*.cu ${CMAKE_SOURCE_DIR}/kernels/gbdt/*.cu)
list(FILTER PS_CUDA_SRC EXCLUDE REGEX "/bench_[^/]*\\.cu$") # the benches: propscore-bench
add_library(pscuda_obj OBJECT ${CMAKE_SOURCE_DIR}/host/models/logreg/backend_cuda.c
            ${CMAKE_SOURCE_DIR}/host/models/kmeans/backend_cuda.c ${CMAKE_SOURCE_DIR}/host/models/gbdt/backend_cuda.c
            ${CMAKE_SOURCE_DIR}/host/models/gbdt/devhist_backend_cuda.c)
cudasim_cu(pscuda_obj ${PS_CUDA_SRC})
target_include_directories(pscuda_obj PRIVATE ${PS_INCLUDES})
target_compile_definitions(pscuda_obj PRIVATE ${PS_DEFS})
target_compile_options(pscuda_obj PRIVATE $<$<COMPILE_LANGUAGE:C>:${PS_WARN}>)
set(PS_CUDA_OBJS $<TARGET_OBJECTS:pscuda_obj>)
set(PS_CUDA_LIBS cudasim stdc++)

# After the top file is read (its targets exist by then): the NCCL transport
# joins the MPI transport as in the CUDA build, with NCCL over MPI; the
# kernel benches (kernels/*/bench_*.cu) are built, and tested, like the kernels.
cmake_language(DEFER CALL target_sources ps_comm_mpi_obj PRIVATE ${CMAKE_SOURCE_DIR}/host/comm/comm_nccl.c)
cmake_language(DEFER CALL target_link_libraries pscore PUBLIC cudasim_nccl)
file(GLOB PS_BENCH_SRC CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/kernels/*/bench_*.cu)
add_executable(propscore-bench)
cudasim_cu(propscore-bench ${PS_BENCH_SRC})
target_include_directories(propscore-bench PRIVATE ${PS_INCLUDES})
target_compile_definitions(propscore-bench PRIVATE ${PS_DEFS})
target_link_libraries(propscore-bench PRIVATE pscore_local)
set_target_properties(propscore-bench PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})
