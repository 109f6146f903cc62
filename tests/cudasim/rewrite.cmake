# rewrite.cmake: cmake -DIN=<file.cu> -DOUT=<file.cc> -P rewrite.cmake
# The one source change the emulated device needs to compile a .cu file as
# C++: `extern __shared__ T name[];` (a per-block array the host compiler
# cannot express) becomes `T *const name = ::cudasim::dynamic_shared<T>();`
# on the same line. Everything else is copied as it is, after a #line that
# keeps the compiler's messages and __FILE__ on the original file.
file(READ "${IN}" text)
set(ident "[A-Za-z_][A-Za-z0-9_]*")
string(REGEX REPLACE
  "extern[ \t]+__shared__[ \t]+(__align__\\([0-9]+\\)[ \t]+)?(${ident}(::${ident})*)[ \t]+(${ident})[ \t]*\\[[ \t]*\\][ \t]*;"
  "\\2 *const \\4 = ::cudasim::dynamic_shared<\\2>();" text "${text}")
if(text MATCHES "extern[ \t]+__shared__")
  message(FATAL_ERROR "${IN}: an extern __shared__ declaration the emulated device cannot rewrite: "
                      "write it as `extern __shared__ T name[];` inside the kernel")
endif()
file(WRITE "${OUT}.tmp" "#line 1 \"${IN}\"\n${text}")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
