/*
 * xmalloc.c -- allocation that cannot fail: on exhaustion the process ends
 * through fatal(), so no caller tests a result.  The bodies are those of
 * rules/ralloc.h, which the rules library uses on its own: here they get
 * external linkage (include/xmalloc.h) and end through the log.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xmalloc.h"

#define RALLOC_FN
#define RALLOC_FAIL(...) fatal(__VA_ARGS__)
#define RALLOC_FAILX(...) fatalx(__VA_ARGS__)
#include "../rules/ralloc.h"
