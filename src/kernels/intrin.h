/* The one place SIMD kernels get their intrinsics from. A normal build uses the
 * compiler's <immintrin.h>. The test-only SIMDe build (make test-simde) defines
 * CX_SIMDE and compiles the AVX-512 sources against Debian's libsimde-dev, so
 * their logic is tested on CPUs without AVX-512. Never a library dependency. */
#ifndef CX_INTRIN_H
#define CX_INTRIN_H
#ifdef CX_SIMDE
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>
#include <simde/x86/fma.h>
#else
#include <immintrin.h>
#endif
#endif
