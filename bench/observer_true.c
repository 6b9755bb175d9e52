/*
 * The cheapest program to exec, for exec-storm benchmarks: static, no libc, exits 0.
 * (x86_64 only: on other machines the benchmark uses /bin/true.)
 */
#if defined(__x86_64__)
void _start(void)
{
	__asm__ volatile("mov $60, %eax\n\txor %edi, %edi\n\tsyscall");
}
#else
int main(void)
{
	return 0;
}
#endif
