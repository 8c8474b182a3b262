/*
 * The programs the fault tests trace: one mode per scenario, each printing
 * only what does not depend on timing or pids, so that its output and exit
 * status traced and untraced can be compared byte for byte.
 *
 *   faulty MODE [N]
 *
 * Built by tests/faults/run.sh with the sample flags (no inlining, no
 * builtins), so every malloc here is a real call.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static unsigned long checksum;

/* Allocates, touches and frees: n blocks of varying sizes, a few kept. */
static void churn(unsigned n, unsigned seed)
{
	void *keep[16] = { 0 };

	for (unsigned i = 0; i < n; i++) {
		size_t size = 16 + (i * 37 + seed) % 2000;
		unsigned char *p = malloc(size);
		if (!p)
			abort();
		p[0] = (unsigned char)i;
		p[size - 1] = (unsigned char)seed;
		checksum += p[0] + p[size - 1] + size;
		unsigned slot = (i + seed) % 16;
		free(keep[slot]);
		keep[slot] = p;
	}
	for (unsigned i = 0; i < 16; i++)
		free(keep[i]);
}

static unsigned arg_n(int argc, char **argv, unsigned dflt)
{
	return argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : dflt;
}

/* ---- a long run, to be killed or to fill a disk -------------------------- */

static void *spin_worker(void *arg)
{
	for (;;)
		churn(1000, (unsigned)(uintptr_t)arg);
	return NULL;
}

/* Prints "ready", then allocates on four threads until killed. */
static int mode_forever(void)
{
	pthread_t th[3];

	for (uintptr_t i = 0; i < 3; i++)
		pthread_create(&th[i], NULL, spin_worker, (void *)i);
	printf("ready\n");
	fflush(stdout);
	spin_worker((void *)7);
	return 0;
}

/* Enough events for a dump of several MiB, then a deterministic result. */
static int mode_heavy(unsigned n)
{
	churn(n, 3);
	printf("heavy: %u blocks, checksum %lu\n", n, checksum);
	return 0;
}

/* ---- processes ----------------------------------------------------------- */

/* n children, each with a child of its own half the time; every one
 * allocates and ends by exit or _exit. */
static int mode_fork_storm(unsigned n)
{
	unsigned ok = 0;

	for (unsigned i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			churn(50, i);
			if (i % 2) {
				pid_t g = fork();
				if (g == 0) {
					churn(20, i + 1);
					_exit(0);
				}
				waitpid(g, NULL, 0);
			}
			if (i % 3 == 0)
				_exit(i % 7);
			exit(i % 7);
		}
	}
	for (unsigned i = 0; i < n; i++) {
		int status;
		if (wait(&status) > 0 && WIFEXITED(status))
			ok += WEXITSTATUS(status) < 7;
	}
	churn(100, 1);
	printf("fork-storm: %u children ended normally\n", ok);
	return 0;
}

static _Atomic int stop_workers;

static void *busy_worker(void *arg)
{
	while (!stop_workers)
		churn(200, (unsigned)(uintptr_t)arg);
	return NULL;
}

/* Four threads allocate without pause while the main thread forks: a
 * child must not inherit a lock one of them held. */
static int mode_fork_threads(unsigned n)
{
	pthread_t th[4];
	unsigned ok = 0;

	for (uintptr_t i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, busy_worker, (void *)i);
	for (unsigned i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			churn(100, i);
			/* A thread in the child, too. */
			pthread_t t;
			stop_workers = 1;
			pthread_create(&t, NULL, busy_worker, (void *)1);
			pthread_join(t, NULL);
			exit(0);
		}
		int status;
		if (pid > 0 && waitpid(pid, &status, 0) == pid &&
		    WIFEXITED(status) && WEXITSTATUS(status) == 0)
			ok++;
	}
	stop_workers = 1;
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	printf("fork-threads: %u of %u children ended normally\n", ok, n);
	return 0;
}

/* Execs itself n times, each image allocating first; the last prints. */
static int mode_exec_chain(char **argv, unsigned n)
{
	char num[16];

	churn(100, n);
	if (n == 0) {
		printf("exec-chain: end of the chain\n");
		return 0;
	}
	snprintf(num, sizeof(num), "%u", n - 1);
	if (n % 2)
		execl("/proc/self/exe", argv[0], "exec-chain", num, (char *)NULL);
	else
		execlp(argv[0], argv[0], "exec-chain", num, (char *)NULL);
	perror("exec");
	return 1;
}

/* ---- modules ------------------------------------------------------------- */

static int mode_dlopen(const char *plugin, unsigned n)
{
	long sum = 0;

	for (unsigned i = 0; i < n; i++) {
		void *h = dlopen(plugin, RTLD_NOW | (i % 2 ? RTLD_LOCAL : RTLD_GLOBAL));
		if (!h) {
			fprintf(stderr, "dlopen: %s\n", dlerror());
			return 1;
		}
		long (*work)(int) = (long (*)(int))dlsym(h, "plugin_work");
		if (!work)
			return 1;
		sum += work((int)i);
		if (dlclose(h)) {
			fprintf(stderr, "dlclose: %s\n", dlerror());
			return 1;
		}
	}
	printf("dlopen: %u rounds, sum %ld\n", n, sum);
	return 0;
}

/* ---- threads ------------------------------------------------------------- */

static _Atomic unsigned tree_threads;

/* Each node allocates, starts fan-out children until depth runs out, and
 * joins them. */
static void *tree_node(void *arg)
{
	unsigned depth = (unsigned)(uintptr_t)arg;
	pthread_t kids[3];

	churn(30, depth);
	if (depth == 0)
		return NULL;
	for (int i = 0; i < 3; i++) {
		if (pthread_create(&kids[i], NULL, tree_node,
				   (void *)(uintptr_t)(depth - 1)))
			abort();
		tree_threads++;
	}
	for (int i = 0; i < 3; i++)
		pthread_join(kids[i], NULL);
	return NULL;
}

static int mode_thread_tree(unsigned depth)
{
	tree_node((void *)(uintptr_t)depth);
	printf("thread-tree: %u threads created and joined\n", tree_threads);
	return 0;
}

static const char *thread_end;

/* Ends the whole process from a second thread, while main waits. */
static void *ender(void *arg)
{
	(void)arg;
	churn(100, 5);
	printf("thread: ending the process by %s\n", thread_end);
	fflush(stdout);
	if (!strcmp(thread_end, "exit"))
		exit(6);
	if (!strcmp(thread_end, "_exit"))
		_exit(7);
	if (!strcmp(thread_end, "abort"))
		abort();
	return NULL;   /* pthread_exit-main: the last thread returns */
}

static int mode_thread_end(const char *how)
{
	pthread_t t;

	thread_end = how;
	churn(100, 4);
	if (pthread_create(&t, NULL, ender, NULL))
		return 1;
	if (!strcmp(how, "pthread_exit-main"))
		pthread_exit(NULL);   /* exit status 0 once the last thread ends */
	pthread_join(t, NULL);
	return 1;   /* never reached: the thread ended the process */
}

static void *cancellable(void *arg)
{
	(void)arg;
	for (;;) {
		churn(50, 9);
		pthread_testcancel();
		usleep(100);
	}
	return NULL;
}

static void *async_victim(void *arg)
{
	(void)arg;
	pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, NULL);
	for (volatile unsigned long i = 0;; i++)
		;
	return NULL;
}

static int mode_cancel(unsigned n)
{
	unsigned cancelled = 0;

	for (unsigned i = 0; i < n; i++) {
		pthread_t t;
		void *ret;
		pthread_create(&t, NULL, i % 4 == 3 ? async_victim : cancellable, NULL);
		usleep(2000);
		pthread_cancel(t);
		pthread_join(t, &ret);
		cancelled += ret == PTHREAD_CANCELED;
	}
	printf("cancel: %u of %u threads cancelled\n", cancelled, n);
	return 0;
}

/* ---- allocator corners ---------------------------------------------------- */

/* realloc(p, 0) frees p in glibc and returns NULL; realloc(NULL, 0) gives a
 * block.  n rounds; says what glibc did. */
static int mode_realloc0(unsigned n)
{
	unsigned nulls = 0, blocks = 0;

	for (unsigned i = 0; i < n; i++) {
		char *p = malloc(100 + i);
		if (!p)
			abort();
		p[0] = 1;
		char *q = realloc(p, 0);
		if (q) {
			blocks++;
			free(q);
		} else {
			nulls++;
		}
		char *r = realloc(NULL, 0);
		free(r);
		void *a = reallocarray(NULL, 0, 8);
		free(a);
	}
	printf("realloc0: %u rounds, realloc(p, 0) returned NULL %u times, a block %u times\n",
	       n, nulls, blocks);
	return 0;
}

/* pthread_create that fails (a stack no machine has room for, EAGAIN), then
 * n mallocs: the shim must go on recording after the failed call. */
static void *never_runs(void *arg)
{
	return arg;
}

static int mode_create_fails(unsigned n)
{
	pthread_attr_t attr;
	pthread_t t;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, (size_t)1 << 46);
	int rc = pthread_create(&t, &attr, never_runs, NULL);
	pthread_attr_destroy(&attr);
	for (unsigned i = 0; i < n; i++) {
		void *volatile p = malloc(32 + i % 64);
		free(p);
	}
	printf("create-fails: pthread_create %s, then %u malloc/free pairs\n",
	       rc ? "failed" : "succeeded", n);
	if (!rc)
		pthread_join(t, NULL);
	return 0;
}

/* ---- signals ------------------------------------------------------------- */

static volatile sig_atomic_t got_usr1, got_term;

static void on_usr1(int sig)
{
	(void)sig;
	got_usr1++;
}

static void on_term(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	got_term++;
}

static const char *handler_name(void (*h)(int))
{
	return h == SIG_DFL ? "SIG_DFL" : h == SIG_IGN ? "SIG_IGN" : "a handler";
}

/* A program with signal handlers of its own, that also asks what was there
 * before: every answer must be what it would be untraced. */
static int mode_signals(void)
{
	struct sigaction sa, old;

	sigaction(SIGSEGV, NULL, &old);
	printf("signals: SIGSEGV was %s\n", handler_name(old.sa_handler));
	sigaction(SIGABRT, NULL, &old);
	printf("signals: SIGABRT was %s, flags %s\n", handler_name(old.sa_handler),
	       old.sa_flags & SA_SIGINFO ? "SA_SIGINFO" : "none");
	printf("signals: signal(SIGUSR1) replaced %s\n",
	       handler_name(signal(SIGUSR1, on_usr1)));
	printf("signals: signal(SIGUSR1) again replaced %s\n",
	       handler_name(signal(SIGUSR1, on_usr1)));
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_term;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGTERM, &sa, &old);
	printf("signals: SIGTERM was %s\n", handler_name(old.sa_handler));
	printf("signals: SIGPIPE set to SIG_IGN replaced %s\n",
	       handler_name(signal(SIGPIPE, SIG_IGN)));
	printf("signals: SIGPIPE back to SIG_DFL replaced %s\n",
	       handler_name(signal(SIGPIPE, SIG_DFL)));
	sigaction(SIGPIPE, NULL, &old);
	printf("signals: SIGPIPE now %s\n", handler_name(old.sa_handler));
	for (int i = 0; i < 100; i++) {
		churn(20, (unsigned)i);
		raise(SIGUSR1);
		kill(getpid(), SIGTERM);
	}
	printf("signals: handled %d USR1 and %d TERM\n", (int)got_usr1, (int)got_term);
	/* The program's own handler decides how it ends. */
	signal(SIGHUP, SIG_DFL);
	sigaction(SIGHUP, NULL, &old);
	printf("signals: SIGHUP reset, now %s\n", handler_name(old.sa_handler));
	fflush(stdout);
	raise(SIGHUP);
	return 0;
}

/* ---- a daemon that closes every descriptor ---------------------------------- */

/* Closes every descriptor but stdio, as daemons do, then opens 600 files
 * (so one lands on the number the dump had), allocates, writes each file
 * and reads it back: none may hold anything but its own line. */
static int mode_closeall(const char *dir)
{
	enum { NFILES = 600 };
	static int fds[NFILES];
	char path[4096], buf[64];
	unsigned intact = 0;

	for (int fd = 3; fd < 4096; fd++)
		close(fd);
	for (int i = 0; i < NFILES; i++) {
		snprintf(path, sizeof(path), "%s/f%d", dir, i);
		fds[i] = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	}
	churn(20000, 6);
	for (int i = 0; i < NFILES; i++) {
		int n = snprintf(buf, sizeof(buf), "file %d\n", i);
		if (fds[i] < 0 || write(fds[i], buf, (size_t)n) != n)
			continue;
		char back[64] = "";
		if (pread(fds[i], back, sizeof(back) - 1, 0) == n && !memcmp(back, buf, (size_t)n))
			intact++;
		close(fds[i]);
	}
	printf("closeall: %u of %d files hold exactly their own line\n", intact, NFILES);
	return 0;
}

/* ---- errno ------------------------------------------------------------------- */

/*
 * A successful call of the malloc family leaves errno as it was: a program
 * may allocate between a failing call and its perror().  Each call here
 * comes from one of many stacks, some deep enough to span several pages
 * (an unwind that misses the stack cache then walks them), with errno set
 * to a value of its own first.
 */
struct errno_run {
	unsigned calls, changed;
	char first[96];
};

static __attribute__((noinline)) void errno_call(struct errno_run *r, unsigned i)
{
	int want = 1000 + (int)i % 97, got;
	void *p = NULL;
	const char *fn;

	errno = want;
	switch (i % 5) {
	case 0: fn = "malloc"; p = malloc(24 + i % 300); break;
	case 1: fn = "calloc"; p = calloc(3, 40 + i % 100); break;
	case 2: fn = "realloc"; p = realloc(NULL, 64 + i % 500); break;
	case 3: fn = "aligned_alloc"; p = aligned_alloc(64, 128); break;
	default: fn = "posix_memalign";
		if (posix_memalign(&p, 32, 96 + i % 64))
			p = NULL;
		break;
	}
	got = errno;
	if (p) {
		errno = want;
		free(p);
		if (errno != want && got == want) {
			fn = "free";
			got = errno;
		}
	}
	r->calls++;
	if (got != want && r->changed++ == 0)
		snprintf(r->first, sizeof(r->first), "%s (call %u): errno %d, was %d",
			 fn, i, got, want);
}

/* depth frames of about 1 KiB each down to the calls. */
static __attribute__((noinline)) void errno_deep(struct errno_run *r, unsigned depth,
						 unsigned i)
{
	volatile char pad[1000];

	pad[depth % sizeof(pad)] = (char)i;
	if (depth)
		errno_deep(r, depth - 1, i);
	else
		errno_call(r, i);
	pad[0] = pad[depth % sizeof(pad)];
}

static void *errno_thread(void *arg)
{
	struct errno_run *r = arg;

	for (unsigned i = 0; i < 400; i++)
		errno_deep(r, (i * 7) % 41, i);
	return NULL;
}

static int mode_errno(void)
{
	struct errno_run main_run = { 0 }, thread_run = { 0 };
	pthread_t t;

	errno_thread(&main_run);
	if (pthread_create(&t, NULL, errno_thread, &thread_run) || pthread_join(t, NULL))
		return 1;
	printf("errno: main thread %u calls, %u changed errno%s%s\n", main_run.calls,
	       main_run.changed, main_run.changed ? ", first " : "", main_run.first);
	printf("errno: a thread %u calls, %u changed errno%s%s\n", thread_run.calls,
	       thread_run.changed, thread_run.changed ? ", first " : "", thread_run.first);
	return 0;
}

/* ---- set-uid ----------------------------------------------------------------- */

/* Says whether a library whose path holds name is mapped, and allocates. */
static int mode_maps(const char *name)
{
	char line[512];
	int found = 0;
	FILE *f = fopen("/proc/self/maps", "r");

	while (f && fgets(line, sizeof(line), f))
		found |= strstr(line, name) != NULL;
	if (f)
		fclose(f);
	churn(1000, 2);
	printf("maps: %s %s, secure-execution %lu\n", name,
	       found ? "mapped" : "not mapped", getauxval(AT_SECURE));
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	if (!strcmp(mode, "forever"))
		return mode_forever();
	if (!strcmp(mode, "heavy"))
		return mode_heavy(arg_n(argc, argv, 200000));
	if (!strcmp(mode, "fork-storm"))
		return mode_fork_storm(arg_n(argc, argv, 40));
	if (!strcmp(mode, "fork-threads"))
		return mode_fork_threads(arg_n(argc, argv, 20));
	if (!strcmp(mode, "exec-chain"))
		return mode_exec_chain(argv, arg_n(argc, argv, 5));
	if (!strcmp(mode, "dlopen") && argc > 2)
		return mode_dlopen(argv[2], argc > 3 ? (unsigned)atoi(argv[3]) : 200);
	if (!strcmp(mode, "thread-tree"))
		return mode_thread_tree(arg_n(argc, argv, 4));
	if (!strcmp(mode, "thread-end") && argc > 2)
		return mode_thread_end(argv[2]);
	if (!strcmp(mode, "cancel"))
		return mode_cancel(arg_n(argc, argv, 20));
	if (!strcmp(mode, "create-fails"))
		return mode_create_fails(arg_n(argc, argv, 1000));
	if (!strcmp(mode, "realloc0"))
		return mode_realloc0(arg_n(argc, argv, 1000));
	if (!strcmp(mode, "signals"))
		return mode_signals();
	if (!strcmp(mode, "closeall") && argc > 2)
		return mode_closeall(argv[2]);
	if (!strcmp(mode, "maps") && argc > 2)
		return mode_maps(argv[2]);
	if (!strcmp(mode, "errno"))
		return mode_errno();
	if (!strcmp(mode, "churn")) {
		churn(arg_n(argc, argv, 1000), 1);
		printf("churn: checksum %lu\n", checksum);
		return 0;
	}
	fprintf(stderr, "usage: faulty MODE [N]\n");
	return 2;
}
