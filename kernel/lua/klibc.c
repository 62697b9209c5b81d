// SPDX-License-Identifier: GPL-2.0
/*
 * The few C library functions Lua needs that the kernel lacks (see
 * kernel/lua/include for the headers). There is no file system: the stdio
 * stubs behave as if no file existed and the streams were empty.
 */
#include <linux/errno.h>
#include <linux/slab.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

int klibc_errno;

const char *klibc_strerror(int errnum)
{
	switch (errnum) {
	case ENOENT:
		return "No such file or directory";
	case ENOMEM:
		return "Out of memory";
	default:
		return "Unknown error";
	}
}

void *klibc_realloc(void *ptr, size_t size)
{
	return NULL;
}

void klibc_free(void *ptr)
{
	/* klibc_realloc never hands out memory */
	WARN_ON_ONCE(ptr);
}

FILE *klibc_fopen(const char *path, const char *mode)
{
	klibc_errno = ENOENT;
	return NULL;
}

int klibc_fclose(FILE *f)
{
	return 0;
}

int klibc_getc(FILE *f)
{
	return EOF;
}

size_t klibc_fread(void *buf, size_t size, size_t n, FILE *f)
{
	return 0;
}

size_t klibc_fwrite(const void *buf, size_t size, size_t n, FILE *f)
{
	return 0;
}

int klibc_feof(FILE *f)
{
	return 1;
}

int klibc_ferror(FILE *f)
{
	return 0;
}
