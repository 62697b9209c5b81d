/* SPDX-License-Identifier: GPL-2.0 */
/*
 * <stdio.h> for Lua in the kernel: snprintf/vsnprintf are the kernel's;
 * there are no files. lauxlib's luaL_loadfilex (and so dofile/loadfile,
 * which lunatik_openlibs removes anyway) finds none: fopen fails with
 * ENOENT and the standard streams read nothing.
 */
#ifndef LUNATIK_LIBC_STDIO_H
#define LUNATIK_LIBC_STDIO_H

#include <linux/types.h>
#include <linux/compiler.h>
#include <linux/stdarg.h>

/* as in <linux/kernel.h> */
__printf(3, 4) int snprintf(char *buf, size_t size, const char *fmt, ...);
__printf(3, 0) int vsnprintf(char *buf, size_t size, const char *fmt,
			     va_list args);

typedef struct klibc_file FILE;

#define EOF		(-1)
#define BUFSIZ		64	/* lauxlib's LoadF buffer lives on the stack */
#define stdin		((FILE *)NULL)
#define stdout		((FILE *)NULL)
#define stderr		((FILE *)NULL)

FILE *klibc_fopen(const char *path, const char *mode);
int klibc_fclose(FILE *f);
int klibc_getc(FILE *f);
size_t klibc_fread(void *buf, size_t size, size_t n, FILE *f);
size_t klibc_fwrite(const void *buf, size_t size, size_t n, FILE *f);
int klibc_feof(FILE *f);
int klibc_ferror(FILE *f);

#define fopen(p, m)		klibc_fopen((p), (m))
#define freopen(p, m, f)	((void)(f), klibc_fopen((p), (m)))
#define fclose(f)		klibc_fclose(f)
#define getc(f)			klibc_getc(f)
#define fread(b, s, n, f)	klibc_fread((b), (s), (n), (f))
#define fwrite(b, s, n, f)	klibc_fwrite((b), (s), (n), (f))
#define feof(f)			klibc_feof(f)
#define ferror(f)		klibc_ferror(f)
#define fflush(f)		((void)(f), 0)

#endif
