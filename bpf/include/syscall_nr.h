/* Syscall numbers the fixtures filter raw tracepoints on, per architecture
 * (raw sys_enter sees the number, not the name). */
#pragma once

#if defined(__TARGET_ARCH_x86)
#define NR_getpid 39
#elif defined(__TARGET_ARCH_arm64)
#define NR_getpid 172
#endif
