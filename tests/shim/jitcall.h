/*
 * jit_call(fn, arg, n, pad) calls fn(arg, n) from a frame pad bytes (a
 * multiple of 16) bigger than its own frame pointer's, in code that has no
 * unwind information: libunwind steps over it through rbp alone, as over a
 * JIT's code (V8's builtins).  Its caller must keep a frame pointer too (see
 * JIT_CALLER), so that the caller's frame is found from the rbp jit_call
 * restores: after a frame without unwind information libunwind's unw_step
 * does not know the stack pointer.
 */
#ifndef JITCALL_H
#define JITCALL_H

#include <stddef.h>

#define JIT_CALLER __attribute__((noinline, optimize("no-omit-frame-pointer")))

int jit_call(int (*fn)(void *, unsigned), void *arg, unsigned n, size_t pad);

__asm__(".pushsection .text\n"
	".globl jit_call\n"
	".type jit_call, @function\n"
	"jit_call:\n"
	"	push %rbp\n"
	"	mov %rsp, %rbp\n"
	"	sub %rcx, %rsp\n"
	"	mov %rdi, %rax\n"
	"	mov %rsi, %rdi\n"
	"	mov %edx, %esi\n"
	"	call *%rax\n"
	"	leave\n"
	"	ret\n"
	".size jit_call, .-jit_call\n"
	".popsection\n");

#endif
