/* jl_sanitize.h — JL_ASAN is 1 when this file is built with AddressSanitizer
 * (gcc defines __SANITIZE_ADDRESS__, clang answers __has_feature), else 0.
 *
 *   #if JL_ASAN
 *   #include <sanitizer/asan_interface.h>
 *   #endif
 */
#ifndef JL_SANITIZE_H
#define JL_SANITIZE_H

#if defined(__SANITIZE_ADDRESS__)
#define JL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define JL_ASAN 1
#endif
#endif
#ifndef JL_ASAN
#define JL_ASAN 0
#endif

#endif
