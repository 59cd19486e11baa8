/* CPU feature detection: CPUID for the instructions, XGETBV for the OS saving
 * the wider registers (a CPU with AVX-512 under an OS that does not enable
 * ZMM state must not use it). Detected once, cached. */
#ifndef CX_CPU_H
#define CX_CPU_H
typedef struct cx_cpu {
    int avx2, fma, f16c;                 /* AVX2 table needs avx2 && fma && os_ymm */
    int avx512f, avx512bw, avx512vl, avx512dq, avx512vnni;
    int os_ymm, os_zmm;
    unsigned l2_kib;                     /* per-core L2 (CPUID 0x80000006, AMD and Intel); 0: not reported */
} cx_cpu;
const cx_cpu *cx_cpu_get(void);
int cx_cpu_has_avx2(void);     /* AVX2 + FMA + OS YMM */
int cx_cpu_has_avx512(void);   /* F + BW + VL + DQ + OS ZMM (VNNI separately) */
#endif
