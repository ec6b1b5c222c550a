/* vvar.h - the vDSO's data page, as the personality writes it.
 *
 * One read-only page mapped just below the vDSO's text in every Linux
 * program (`[vvar]` in /proc/self/maps). The personality server fills it
 * (personality/linux/src/vdso.rs, `DataPage`, the same offsets) from the
 * kernel's clock figures (sion_abi::call::ClockInfo), so the vDSO converts
 * a TSC reading to nanoseconds exactly as the server's clock calls do.
 *
 * All fields little-endian. `seq` is even while the page is stable and odd
 * while the server rewrites it; a reader retries when it changed.
 */
#ifndef SION_VVAR_H
#define SION_VVAR_H

#include <stdint.h>

/* The layout's version, for debuggers; the vDSO does not check it (the
 * image is embedded in the server that writes the page: one tree). */
#define SION_VVAR_VERSION 1

struct sion_vvar {
    uint32_t seq;                 /* 0: even when stable */
    uint32_t version;             /* 4: SION_VVAR_VERSION */
    uint64_t tsc_hz;              /* 8: TSC ticks per second; 0: no usable TSC, use the system call */
    uint64_t tsc_at_boot;         /* 16: the TSC value that is monotonic time 0 */
    uint64_t realtime_offset_ns;  /* 24: CLOCK_REALTIME = this + CLOCK_MONOTONIC */
    uint64_t coarse_ns;           /* 32: resolution of the *_COARSE clocks */
};

#endif
