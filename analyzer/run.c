/*
 * `libtrace run`: environment for the shim (LD_PRELOAD, LIBTRACE_OUTPUT,
 * LIBTRACE_RUN_LOG), fork + exec + wait, then the reports of every dump
 * the shim logged.  Must never exit or print to stderr (main does), and
 * must pass the command's own exit status through.
 */
#include "run.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static bool readable_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	       access(path, R_OK) == 0;
}

int lt_run_find_shim(char *buf, size_t len, struct lt_err *err)
{
	const char *env = getenv("LIBTRACE_SO");
	char exe[PATH_MAX], cand[PATH_MAX + 32], real[PATH_MAX];
	ssize_t n;
	char *slash;

	if (env && *env) {
		if (!realpath(env, real) || !readable_file(real))
			return lt_err_set(err, "LIBTRACE_SO=%s: %s", env,
					  errno ? strerror(errno) :
					  "not a readable file");
		goto found;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return lt_err_set(err, "cannot find libtrace.so: /proc/self/exe "
				  "is unreadable; set LIBTRACE_SO");
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	snprintf(cand, sizeof(cand), "%s/libtrace.so", exe);
	if (readable_file(cand) && realpath(cand, real))
		goto found;
	snprintf(cand, sizeof(cand), "%s/../lib/libtrace.so", exe);
	if (readable_file(cand) && realpath(cand, real))
		goto found;
	return lt_err_set(err, "cannot find libtrace.so in %s or %s/../lib; "
			  "set LIBTRACE_SO to its path", exe, exe);
found:
	if (strlen(real) >= len)
		return lt_err_set(err, "path of libtrace.so is too long");
	strcpy(buf, real);
	return 0;
}

static int set_env(const char *shim, const struct lt_run_opts *o,
		   const char *log, struct lt_err *err)
{
	const char *old = getenv("LD_PRELOAD");
	char *preload = NULL;
	int rc = 0;

	/* Ours first, so the shim's wrappers win over other preloads. */
	if (old && *old) {
		if (asprintf(&preload, "%s %s", shim, old) < 0)
			return lt_err_set(err, "out of memory");
	} else if (!(preload = strdup(shim))) {
		return lt_err_set(err, "out of memory");
	}
	if (setenv("LD_PRELOAD", preload, 1) < 0 ||
	    setenv("LIBTRACE_RUN_LOG", log, 1) < 0 ||
	    (o->output && setenv("LIBTRACE_OUTPUT", o->output, 1) < 0) ||
	    (o->sample && setenv("LIBTRACE_SAMPLE", o->sample, 1) < 0))
		rc = lt_err_set(err, "cannot set the environment: %s",
				strerror(errno));
	free(preload);
	return rc;
}

/*
 * Fork and exec argv; the child reports an exec failure's errno through a
 * close-on-exec pipe, so the parent can tell "not found" from a command
 * that ran and exited 127.  Returns the child's pid, or -1 with err and
 * *status set.
 */
static pid_t spawn(char *const *argv, int *status, struct lt_err *err)
{
	int pipefd[2], child_errno = 0;
	pid_t pid;
	ssize_t n;

	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		*status = 2;
		return lt_err_set(err, "pipe: %s", strerror(errno));
	}
	pid = fork();
	if (pid < 0) {
		*status = 2;
		close(pipefd[0]);
		close(pipefd[1]);
		return lt_err_set(err, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		int e;
		signal(SIGINT, SIG_DFL);
		signal(SIGQUIT, SIG_DFL);
		close(pipefd[0]);
		execvp(argv[0], argv);
		e = errno;
		if (write(pipefd[1], &e, sizeof(e)) < 0)
			e = 0;   /* nothing more a failed child can do */
		_exit(127);
	}
	close(pipefd[1]);
	do
		n = read(pipefd[0], &child_errno, sizeof(child_errno));
	while (n < 0 && errno == EINTR);
	close(pipefd[0]);
	if (n == (ssize_t)sizeof(child_errno)) {
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		*status = child_errno == ENOENT ? 127 : 126;
		return lt_err_set(err, "cannot run %s: %s", argv[0],
				  strerror(child_errno));
	}
	return pid;
}

static void complain(const struct lt_run_opts *o, const char *msg)
{
	if (o->complain)
		o->complain(o->complain_ctx, msg);
}

/* The file execvp would run for cmd, into buf; false if none. */
static bool find_command(const char *cmd, char *buf, size_t len)
{
	const char *path = getenv("PATH");

	if (strchr(cmd, '/'))
		return snprintf(buf, len, "%s", cmd) < (int)len;
	for (const char *p = path && *path ? path : "/bin:/usr/bin"; ; ) {
		size_t n = strcspn(p, ":");
		if (snprintf(buf, len, "%.*s%s%s", (int)n, p, n ? "/" : "",
			     cmd) < (int)len && access(buf, X_OK) == 0)
			return true;
		if (!p[n])
			return false;
		p += n + 1;
	}
}

/* The program has no dynamic loader to preload into (statically linked:
 * an ELF file without PT_INTERP).  Reads only the ELF headers. */
static bool statically_linked(const char *file)
{
	Elf64_Ehdr eh;
	bool dynamic = false;
	int fd = open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return false;
	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr)) {
		close(fd);
		return false;   /* a script, or not an ELF we know: try it */
	}
	for (unsigned i = 0; i < eh.e_phnum && i < 4096 && !dynamic; i++) {
		Elf64_Phdr ph;
		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) !=
		    (ssize_t)sizeof(ph))
			break;
		dynamic = ph.p_type == PT_INTERP;
	}
	close(fd);
	return !dynamic;
}

/* Report each dump named in the run log: the first in full, the rest in
 * one line each (forked children, exec'd images). */
static void report_dumps(const struct lt_run_opts *o, FILE *out,
			 const char *log, bool untraceable)
{
	FILE *f = fopen(log, "r");
	char *line = NULL, **seen = NULL;
	size_t cap = 0, nseen = 0;
	ssize_t n;

	if (!f) {
		complain(o, "cannot read the run log; no report");
		return;
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		char *path = strchr(line, ' ');
		struct lt_report_opts ro = o->report;
		struct lt_err err;
		bool dup = false;
		void *v;

		if (line[n - 1] == '\n')
			line[n - 1] = '\0';
		if (!path || !*++path)
			continue;
		for (size_t i = 0; i < nseen; i++)
			dup |= strcmp(seen[i], path) == 0;
		if (dup)
			continue;
		if (nseen > 0)
			ro.mode = LT_REPORT_ONELINE;
		if (nseen == 0 || nseen == 1)
			fprintf(out, "\n");
		if (nseen == 1)
			fprintf(out, "Other dumps of this run:\n");
		if (lt_report_path(out, path, &ro, &err) < 0)
			complain(o, err.msg);
		v = realloc(seen, (nseen + 1) * sizeof(*seen));
		if (!v)
			break;
		seen = v;
		if (!(seen[nseen] = strdup(path)))
			break;
		nseen++;
	}
	if (nseen == 0 && !untraceable)
		complain(o, "the command wrote no dump (statically linked, "
			 "setuid, or LD_PRELOAD removed?)");
	if (o->dumps) {
		*o->dumps = seen;
		*o->ndumps = nseen;
		seen = NULL;
		nseen = 0;
	}
	for (size_t i = 0; i < nseen; i++)
		free(seen[i]);
	free(seen);
	free(line);
	fclose(f);
}

int lt_run(const struct lt_run_opts *o, FILE *out, int *status,
	   struct lt_err *err)
{
	char shim[PATH_MAX], log[PATH_MAX], file[PATH_MAX];
	const char *tmp = getenv("TMPDIR");
	bool untraceable = false;
	struct sigaction ign = { .sa_handler = SIG_IGN }, old_int, old_quit;
	int fd, wstatus = 0;
	pid_t pid;

	*status = 2;
	if (o->dumps) {
		*o->dumps = NULL;
		*o->ndumps = 0;
	}
	if (!o->argv || !o->argv[0])
		return lt_err_set(err, "run: no command given");
	if (lt_run_find_shim(shim, sizeof(shim), err) < 0)
		return -1;
	if (find_command(o->argv[0], file, sizeof(file)) &&
	    statically_linked(file)) {
		char msg[PATH_MAX + 80];
		snprintf(msg, sizeof(msg), "%s is statically linked: nothing to "
			 "intercept; it runs untraced", o->argv[0]);
		complain(o, msg);
		untraceable = true;
	}
	snprintf(log, sizeof(log), "%s/libtrace-run-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	fd = mkstemp(log);
	if (fd < 0)
		return lt_err_set(err, "cannot create a run log in %s: %s",
				  tmp && *tmp ? tmp : "/tmp", strerror(errno));
	close(fd);
	if (set_env(shim, o, log, err) < 0) {
		unlink(log);
		return -1;
	}

	/* Like system(3): ^C and ^\ go to the command; we live on to
	 * report what it did. */
	sigaction(SIGINT, &ign, &old_int);
	sigaction(SIGQUIT, &ign, &old_quit);
	fflush(out);
	pid = spawn(o->argv, status, err);
	if (pid > 0)
		while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
			;
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	unsetenv("LIBTRACE_RUN_LOG");
	if (pid < 0) {
		unlink(log);
		return -1;
	}
	if (WIFEXITED(wstatus))
		*status = WEXITSTATUS(wstatus);
	else if (WIFSIGNALED(wstatus))
		*status = 128 + WTERMSIG(wstatus);

	report_dumps(o, out, log, untraceable);
	unlink(log);
	return 0;
}
