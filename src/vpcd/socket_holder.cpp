// SPDX-License-Identifier: LGPL-2.1-or-later
// pcscd-socket-holder: socket activation for the test harness, as systemd's pcscd.socket does it.
//
//   pcscd-socket-holder --socket PATH [--state FILE] [--log FILE] [--start-now] -- COMMAND [ARGS...]
//
// Holds a listening Unix socket at PATH (mode 0666, like Debian's pcscd.socket). Whenever the
// socket has a pending connection and no service is running, it starts COMMAND with the listening
// socket as fd 3 and LISTEN_FDS=1, LISTEN_PID=<its pid>, LISTEN_FDNAMES=pcscd.socket (sd_listen_fds(3)),
// so pcscd 1.9.9 takes it over instead of creating its own ("Started by systemd"). When the service
// exits (SIGTERM, SIGKILL, --auto-exit), the socket stays bound and listening: connections made in
// the meantime queue in its backlog, and the first of them starts the service again. Unlike
// systemd-socket-activate(1), which activates only once, this repeats for the holder's life.
//
// A service that exits non-zero within 1 s of its start is not started again for 500 ms (systemd has
// a start limit too), so a pending connection cannot make the holder spin.
// --state FILE is rewritten atomically after each change: "pid N" (0 while no service runs),
// "starts N", "exits N". --log lines: "<epoch ms> holder: ..." (connection pending, started,
// exited with status). SIGTERM/SIGINT: stop the service (SIGTERM, then SIGKILL after 5 s), remove
// the socket, exit 0. Exit 2 on bad arguments, 1 if the socket cannot be set up.
#include "unique_fd.hpp"

#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <getopt.h>
#include <memory>
#include <poll.h>
#include <string>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace {

constexpr int listen_fds_start = 3; // SD_LISTEN_FDS_START

long long now_ms()
{
	return std::chrono::duration_cast<std::chrono::milliseconds>(
		       std::chrono::system_clock::now().time_since_epoch())
		.count();
}

class Holder {
public:
	Holder(std::string socket_path, std::string state_path, std::FILE *log, std::vector<char *> command)
		: socket_path_(std::move(socket_path)), state_path_(std::move(state_path)), log_(log),
		  command_(std::move(command))
	{
	}
	~Holder()
	{
		if (listening_)
			::unlink(socket_path_.c_str());
	}
	Holder(const Holder &) = delete;
	Holder &operator=(const Holder &) = delete;

	bool open_socket();
	int run(int signal_fd, bool start_now);

private:
	void note(const char *fmt, ...) __attribute__((format(printf, 2, 3)));
	void write_state();
	bool start_service();
	void reap();
	void stop_service();

	std::string socket_path_;
	std::string state_path_;
	std::FILE *log_;
	std::vector<char *> command_;
	vpcd::UniqueFd listen_fd_;
	bool listening_ = false;
	pid_t child_ = 0;
	long long started_ms_ = 0;
	long long quiet_until_ms_ = 0; // after a failed start: do not start again before this
	unsigned starts_ = 0;
	unsigned exits_ = 0;
};

void Holder::note(const char *fmt, ...)
{
	if (!log_)
		return;
	std::fprintf(log_, "%lld holder: ", now_ms());
	va_list ap;
	va_start(ap, fmt);
	std::vfprintf(log_, fmt, ap);
	va_end(ap);
	std::fputc('\n', log_);
	std::fflush(log_);
}

void Holder::write_state()
{
	if (state_path_.empty())
		return;
	const std::string tmp = state_path_ + ".tmp";
	std::FILE *f = std::fopen(tmp.c_str(), "w");
	if (!f) {
		note("cannot write %s: %s", tmp.c_str(), std::strerror(errno));
		return;
	}
	std::fprintf(f, "pid %ld\nstarts %u\nexits %u\n", static_cast<long>(child_), starts_, exits_);
	if (std::fclose(f) != 0 || std::rename(tmp.c_str(), state_path_.c_str()) != 0)
		note("cannot write %s: %s", state_path_.c_str(), std::strerror(errno));
}

bool Holder::open_socket()
{
	sockaddr_un addr{};
	addr.sun_family = AF_UNIX;
	if (socket_path_.size() >= sizeof addr.sun_path) {
		std::fprintf(stderr, "pcscd-socket-holder: socket path too long: %s\n", socket_path_.c_str());
		return false;
	}
	std::memcpy(addr.sun_path, socket_path_.c_str(), socket_path_.size() + 1);
	listen_fd_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
	if (!listen_fd_.valid()) {
		std::fprintf(stderr, "pcscd-socket-holder: socket: %s\n", std::strerror(errno));
		return false;
	}
	// A socket file left by an earlier service (SIGKILL) would make bind fail: systemd removes it too.
	::unlink(socket_path_.c_str());
	if (::bind(listen_fd_.get(), reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0 ||
	    ::chmod(socket_path_.c_str(), 0666) != 0 || ::listen(listen_fd_.get(), SOMAXCONN) != 0) {
		std::fprintf(stderr, "pcscd-socket-holder: cannot listen on %s: %s\n", socket_path_.c_str(),
			     std::strerror(errno));
		return false;
	}
	listening_ = true;
	note("listening on %s", socket_path_.c_str());
	write_state();
	return true;
}

bool Holder::start_service()
{
	const pid_t pid = ::fork();
	if (pid < 0) {
		note("fork: %s", std::strerror(errno));
		return false;
	}
	if (pid == 0) {
		// The service: default signal mask, the listening socket as fd 3 without FD_CLOEXEC.
		sigset_t none;
		sigemptyset(&none);
		::sigprocmask(SIG_SETMASK, &none, nullptr);
		int fd = listen_fd_.get();
		if (fd == listen_fds_start) {
			::fcntl(fd, F_SETFD, 0);
		} else if (::dup2(fd, listen_fds_start) < 0) {
			std::fprintf(stderr, "pcscd-socket-holder: dup2: %s\n", std::strerror(errno));
			::_exit(127);
		}
		char pid_text[32];
		std::snprintf(pid_text, sizeof pid_text, "%ld", static_cast<long>(::getpid()));
		::setenv("LISTEN_FDS", "1", 1);
		::setenv("LISTEN_PID", pid_text, 1);
		::setenv("LISTEN_FDNAMES", "pcscd.socket", 1);
		::execvp(command_[0], command_.data());
		std::fprintf(stderr, "pcscd-socket-holder: cannot run %s: %s\n", command_[0], std::strerror(errno));
		::_exit(127);
	}
	child_ = pid;
	started_ms_ = now_ms();
	++starts_;
	note("started %s pid %ld (start %u)", command_[0], static_cast<long>(pid), starts_);
	write_state();
	return true;
}

void Holder::reap()
{
	int status = 0;
	pid_t pid;
	while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid != child_)
			continue;
		++exits_;
		if (WIFSIGNALED(status))
			note("pid %ld killed by signal %d", static_cast<long>(pid), WTERMSIG(status));
		else
			note("pid %ld exited with status %d", static_cast<long>(pid), WEXITSTATUS(status));
		// A service failing right at start would be started again at once for a pending
		// connection, forever: like systemd's start limit, wait a little first.
		if (WIFEXITED(status) && WEXITSTATUS(status) != 0 && now_ms() - started_ms_ < 1000) {
			quiet_until_ms_ = now_ms() + 500;
			note("the service failed at start; next start in 500 ms at the earliest");
		}
		child_ = 0;
		write_state();
	}
}

void Holder::stop_service()
{
	if (child_ == 0)
		return;
	::kill(child_, SIGTERM);
	for (int i = 0; i < 100 && child_ != 0; ++i) {
		::usleep(50000);
		reap();
	}
	if (child_ != 0) {
		note("pid %ld ignored SIGTERM for 5 s; SIGKILL", static_cast<long>(child_));
		::kill(child_, SIGKILL);
		int status = 0;
		::waitpid(child_, &status, 0);
		child_ = 0;
		++exits_;
		write_state();
	}
}

int Holder::run(int signal_fd, bool start_now)
{
	if (start_now && !start_service())
		return 1;
	for (;;) {
		pollfd fds[2] = {{signal_fd, POLLIN, 0}, {listen_fd_.get(), POLLIN, 0}};
		// While the service runs it owns accept(): the holder watches signals only.
		const long long quiet = quiet_until_ms_ - now_ms();
		const nfds_t count = child_ == 0 && quiet <= 0 ? 2 : 1;
		const int timeout = child_ == 0 && quiet > 0 ? static_cast<int>(quiet) : -1;
		if (::poll(fds, count, timeout) < 0) {
			if (errno == EINTR)
				continue;
			note("poll: %s", std::strerror(errno));
			stop_service();
			return 1;
		}
		if (fds[0].revents & POLLIN) {
			signalfd_siginfo info{};
			if (::read(signal_fd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
				if (info.ssi_signo == SIGCHLD) {
					reap();
				} else {
					note("signal %u: stopping", info.ssi_signo);
					stop_service();
					return 0;
				}
			}
			continue; // a connection and an exit at once: reap first, then look at the socket again
		}
		if (count == 2 && (fds[1].revents & POLLIN)) {
			note("connection pending; starting the service");
			if (!start_service())
				quiet_until_ms_ = now_ms() + 100; // do not spin on a failing fork
		}
	}
}

void usage(std::FILE *out)
{
	std::fprintf(out, "Usage: pcscd-socket-holder --socket PATH [--state FILE] [--log FILE] [--start-now] "
			  "-- COMMAND [ARGS...]\n"
			  "Socket activation (LISTEN_FDS) of COMMAND on PATH, again after every exit.\n");
}

} // namespace

int main(int argc, char **argv)
{
	static const struct option long_options[] = {
		{"socket", required_argument, nullptr, 's'}, {"state", required_argument, nullptr, 'p'},
		{"log", required_argument, nullptr, 'l'},    {"start-now", no_argument, nullptr, 'n'},
		{"help", no_argument, nullptr, 'h'},         {nullptr, 0, nullptr, 0},
	};
	std::string socket_path;
	std::string state_path;
	std::string log_path;
	bool start_now = false;
	int opt;
	while ((opt = getopt_long(argc, argv, "+s:p:l:nh", long_options, nullptr)) != -1) {
		switch (opt) {
		case 's':
			socket_path = optarg;
			break;
		case 'p':
			state_path = optarg;
			break;
		case 'l':
			log_path = optarg;
			break;
		case 'n':
			start_now = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (socket_path.empty() || optind >= argc) {
		usage(stderr);
		return 2;
	}
	std::vector<char *> command(argv + optind, argv + argc);
	command.push_back(nullptr);

	std::unique_ptr<std::FILE, int (*)(std::FILE *)> log_file(nullptr, std::fclose);
	if (!log_path.empty()) {
		log_file.reset(std::fopen(log_path.c_str(), "ae"));
		if (!log_file) {
			std::fprintf(stderr, "pcscd-socket-holder: cannot open log %s: %s\n", log_path.c_str(),
				     std::strerror(errno));
			return 2;
		}
	}

	sigset_t signals;
	sigemptyset(&signals);
	sigaddset(&signals, SIGCHLD);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGHUP);
	if (::sigprocmask(SIG_BLOCK, &signals, nullptr) != 0) {
		std::fprintf(stderr, "pcscd-socket-holder: sigprocmask: %s\n", std::strerror(errno));
		return 1;
	}
	vpcd::UniqueFd signal_fd(::signalfd(-1, &signals, SFD_CLOEXEC));
	if (!signal_fd.valid()) {
		std::fprintf(stderr, "pcscd-socket-holder: signalfd: %s\n", std::strerror(errno));
		return 1;
	}

	Holder holder(socket_path, state_path, log_file ? log_file.get() : stderr, std::move(command));
	if (!holder.open_socket())
		return 1;
	return holder.run(signal_fd.get(), start_now);
}
