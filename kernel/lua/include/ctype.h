/* SPDX-License-Identifier: GPL-2.0 */
/*
 * <ctype.h> for Lua in the kernel, in the "C" locale: ASCII only, like
 * glibc's default in user space. (The kernel's <linux/ctype.h> classifies
 * Latin-1 letters too, which would change what %a matches in patterns.)
 */
#ifndef LUNATIK_LIBC_CTYPE_H
#define LUNATIK_LIBC_CTYPE_H

#include <linux/ctype.h>	/* first, so that its macros can be replaced */

#undef isalnum
#undef isalpha
#undef iscntrl
#undef isdigit
#undef isgraph
#undef islower
#undef isprint
#undef ispunct
#undef isspace
#undef isupper
#undef isxdigit
#undef tolower
#undef toupper

static inline int klibc_islower(int c) { return c >= 'a' && c <= 'z'; }
static inline int klibc_isupper(int c) { return c >= 'A' && c <= 'Z'; }
static inline int klibc_isdigit(int c) { return c >= '0' && c <= '9'; }
static inline int klibc_isalpha(int c)
{
	return klibc_islower(c) || klibc_isupper(c);
}
static inline int klibc_isalnum(int c)
{
	return klibc_isalpha(c) || klibc_isdigit(c);
}
static inline int klibc_iscntrl(int c)
{
	return (c >= 0 && c < 0x20) || c == 0x7f;
}
static inline int klibc_isgraph(int c) { return c > 0x20 && c < 0x7f; }
static inline int klibc_isprint(int c) { return c >= 0x20 && c < 0x7f; }
static inline int klibc_ispunct(int c)
{
	return klibc_isgraph(c) && !klibc_isalnum(c);
}
static inline int klibc_isspace(int c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}
static inline int klibc_isxdigit(int c)
{
	return klibc_isdigit(c) || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}
static inline int klibc_tolower(int c)
{
	return klibc_isupper(c) ? c - 'A' + 'a' : c;
}
static inline int klibc_toupper(int c)
{
	return klibc_islower(c) ? c - 'a' + 'A' : c;
}

#define isalnum(c)	klibc_isalnum(c)
#define isalpha(c)	klibc_isalpha(c)
#define iscntrl(c)	klibc_iscntrl(c)
#define isdigit(c)	klibc_isdigit(c)
#define isgraph(c)	klibc_isgraph(c)
#define islower(c)	klibc_islower(c)
#define isprint(c)	klibc_isprint(c)
#define ispunct(c)	klibc_ispunct(c)
#define isspace(c)	klibc_isspace(c)
#define isupper(c)	klibc_isupper(c)
#define isxdigit(c)	klibc_isxdigit(c)
#define tolower(c)	klibc_tolower(c)
#define toupper(c)	klibc_toupper(c)

#endif
