/* SPDX-License-Identifier: MIT */
/* Starting wireguard-go without blocking (wg_spawn.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "osclock.h"
#include "wg_spawn.h"

extern char **environ;

struct wg_spawn {
	struct reactor *r;
	const struct wlog *log;
	char exe[256];
	char ifname[16];
	struct sockaddr_un sa;
	pid_t pid;
	uint64_t deadline;
	struct rtimer poll;
	wg_spawn_cb cb;
	void *ud;
};

static void spawn_end(struct wg_spawn *s, int err)
{
	wg_spawn_cb cb = s->cb;
	void *ud = s->ud;
	pid_t pid = s->pid;

	if (err < 0 && s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0); /* immediate after SIGKILL */
		pid = -1;
	}
	reactor_timer_disarm(s->r, &s->poll);
	free(s);
	cb(ud, err, err < 0 ? -1 : pid);
}

static bool sock_accepts(const struct wg_spawn *s)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	bool ok;

	if (fd < 0)
		return false;
	ok = connect(fd, (const struct sockaddr *)&s->sa, sizeof(s->sa)) == 0 || errno == EINPROGRESS ||
	     errno == EAGAIN;
	close(fd);
	return ok;
}

static uint64_t poll_step(const struct wg_spawn *s, uint64_t now_us)
{
	return now_us + WG_SPAWN_TIMEOUT_US - s->deadline < WG_SPAWN_FAST_US ? WG_SPAWN_POLL_FAST_US : WG_SPAWN_POLL_US;
}

static void on_poll(void *ud, uint64_t now_us)
{
	struct wg_spawn *s = ud;
	int st;

	if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
		log_warn(s->log, "wg-spawn: %s: %s exited (status %d) before its socket appeared", s->ifname, s->exe,
			 WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		s->pid = -1;
		spawn_end(s, -ECHILD);
		return;
	}
	if (sock_accepts(s)) {
		log_info(s->log, "wg-spawn: %s: %s running as pid %d", s->ifname, s->exe, (int)s->pid);
		spawn_end(s, 0);
		return;
	}
	if (now_us >= s->deadline) {
		log_warn(s->log, "wg-spawn: %s: the socket of %s did not appear in %llu s", s->ifname, s->exe,
			 (unsigned long long)(WG_SPAWN_TIMEOUT_US / 1000000));
		spawn_end(s, W2W_ETIMEDOUT);
		return;
	}
	reactor_timer_arm(s->r, &s->poll, now_us + poll_step(s, now_us));
}

static int run(struct wg_spawn *s)
{
	posix_spawn_file_actions_t fa;
	char *argv[3] = {s->exe, s->ifname, NULL};
	char **envp;
	size_t n = 0, k = 0;
	int ret;

	while (environ && environ[n])
		n++;
	envp = calloc(n + 2, sizeof(*envp));
	if (!envp)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "WG_PROCESS_FOREGROUND=", 22) != 0)
			envp[k++] = environ[i];
	envp[k] = "WG_PROCESS_FOREGROUND=1";
	ret = posix_spawn_file_actions_init(&fa);
	if (ret) {
		free(envp);
		return -ret;
	}
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	ret = posix_spawnp(&s->pid, s->exe, &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	free(envp);
	if (ret) {
		log_warn(s->log, "wg-spawn: cannot start %s: %s", s->exe, strerror(ret));
		return -ret;
	}
	return 0;
}

int wg_spawn_start(struct reactor *r, const struct wlog *log, const char *exe, const char *ifname,
		   const char *sockpath, wg_spawn_cb cb, void *ud, struct wg_spawn **out)
{
	struct wg_spawn *s;
	uint64_t now = os_now_us();
	int ret;

	if (!cb || !ifname || !*ifname || strlen(ifname) >= sizeof(s->ifname) || !sockpath)
		return -EINVAL;
	if (!exe || !*exe)
		exe = "wireguard-go";
	if (access("/dev/net/tun", R_OK | W_OK) < 0) {
		log_warn(log, "wg-spawn: /dev/net/tun unavailable: cannot start %s", exe);
		return -ENODEV;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	if (snprintf(s->exe, sizeof(s->exe), "%s", exe) >= (int)sizeof(s->exe) ||
	    snprintf(s->sa.sun_path, sizeof(s->sa.sun_path), "%s", sockpath) >= (int)sizeof(s->sa.sun_path)) {
		free(s);
		return -ENAMETOOLONG;
	}
	s->sa.sun_family = AF_UNIX;
	snprintf(s->ifname, sizeof(s->ifname), "%s", ifname);
	s->r = r;
	s->log = log;
	s->cb = cb;
	s->ud = ud;
	s->pid = -1;
	s->deadline = now + WG_SPAWN_TIMEOUT_US;
	rtimer_init(&s->poll, on_poll, s);
	ret = run(s);
	if (ret == 0)
		ret = reactor_timer_arm(r, &s->poll, now + WG_SPAWN_POLL_FAST_US);
	if (ret < 0) {
		if (s->pid > 0) {
			kill(s->pid, SIGKILL);
			waitpid(s->pid, NULL, 0);
		}
		reactor_timer_disarm(r, &s->poll);
		free(s);
		return ret;
	}
	*out = s;
	return 0;
}

void wg_spawn_cancel(struct wg_spawn *s)
{
	if (!s)
		return;
	reactor_timer_disarm(s->r, &s->poll);
	free(s);
}
