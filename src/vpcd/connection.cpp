// SPDX-License-Identifier: LGPL-2.1-or-later
#include "connection.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

namespace vpcd {

Connection Connection::connect_loopback(std::uint16_t port, std::string &error)
{
	UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
	if (!fd.valid()) {
		error = std::string("socket: ") + std::strerror(errno);
		return Connection(UniqueFd());
	}
	struct sockaddr_in addr;
	std::memset(&addr, 0, sizeof addr);
	addr.sin_family = AF_INET;
	addr.sin_port = htons(port);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int r;
	do {
		r = ::connect(fd.get(), reinterpret_cast<struct sockaddr *>(&addr), sizeof addr);
	} while (r < 0 && errno == EINTR);
	if (r < 0) {
		error = std::strerror(errno);
		return Connection(UniqueFd());
	}
	const int one = 1;
	if (::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0) {
		error = std::string("TCP_NODELAY: ") + std::strerror(errno);
		return Connection(UniqueFd());
	}
	Connection conn(std::move(fd));
	conn.rearm_quickack();
	return conn;
}

void Connection::rearm_quickack()
{
#ifdef TCP_QUICKACK
	// The kernel clears TCP_QUICKACK on its own; set it again after each read.
	const int one = 1;
	::setsockopt(fd_.get(), IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
#endif
}

Connection::ReadResult Connection::read_frame(int stop_fd, Bytes &frame)
{
	std::uint8_t buffer[FrameCodec::max_payload];
	while (!codec_.has_frame()) {
		struct pollfd fds[2] = {{fd_.get(), POLLIN, 0}, {stop_fd, POLLIN, 0}};
		const nfds_t count = stop_fd >= 0 ? 2 : 1;
		const int n = ::poll(fds, count, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			error_ = std::string("poll: ") + std::strerror(errno);
			return ReadResult::closed;
		}
		if (count == 2 && (fds[1].revents & POLLIN))
			return ReadResult::stopped;
		if (!(fds[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		// Exactly what completes the header or the body, never more.
		const ssize_t got = ::recv(fd_.get(), buffer, codec_.bytes_wanted(), MSG_DONTWAIT);
		if (got == 0) {
			error_ = codec_.mid_frame() ? "closed by vpcd in the middle of a message" : "closed by vpcd";
			return ReadResult::closed;
		}
		if (got < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			error_ = std::strerror(errno);
			return ReadResult::closed;
		}
		rearm_quickack();
		codec_.feed(buffer, static_cast<std::size_t>(got));
	}
	frame = codec_.next();
	return ReadResult::frame;
}

bool Connection::write_frame(const Bytes &payload)
{
	const Bytes wire = FrameCodec::encode(payload);
	std::size_t sent = 0;
	while (sent < wire.size()) {
		const ssize_t r = ::send(fd_.get(), wire.data() + sent, wire.size() - sent, MSG_NOSIGNAL);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			error_ = std::strerror(errno);
			return false;
		}
		sent += static_cast<std::size_t>(r);
	}
	return true;
}

} // namespace vpcd
