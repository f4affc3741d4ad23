/* SPDX-License-Identifier: MIT */
/* The installed shared library is libcsemarkeru.la with only the public API
 * exported (-fvisibility=hidden, CSE_EXPORT and -export-symbols-regex). This
 * file exists because a libtool library needs one object of its own. */
#include "config.h"

#include "internal.h"
