#pragma once
// Includes Debian's cpp-httplib (libcpp-httplib-dev). Debian builds it as a shared library with
// OpenSSL, zlib and Brotli support; the class layouts depend on these macros, so every user must
// define them exactly as the library was built (see its cpp-httplib.pc). nlpc never starts TLS.
#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_OPENSSL_SUPPORT
#endif
#ifndef CPPHTTPLIB_ZLIB_SUPPORT
#define CPPHTTPLIB_ZLIB_SUPPORT
#endif
#ifndef CPPHTTPLIB_BROTLI_SUPPORT
#define CPPHTTPLIB_BROTLI_SUPPORT
#endif
#include <httplib.h>
