// SPDX-License-Identifier: LGPL-2.1-or-later
// A byte container for PIN-derived keys and SM session keys: wipes itself
// with OPENSSL_cleanse on destruction, reassignment and clear().
#pragma once

#include "card.hpp"

#include <openssl/crypto.h>

#include <cstddef>
#include <cstdint>
#include <utility>

namespace vcard {

class SecureBytes {
public:
	SecureBytes() = default;
	explicit SecureBytes(std::size_t n) : data_(n, 0) {}
	SecureBytes(const std::uint8_t *p, std::size_t n) : data_(p, p + n) {}
	explicit SecureBytes(const Bytes &b) : data_(b) {}
	SecureBytes(const SecureBytes &o) : data_(o.data_) {}
	SecureBytes(SecureBytes &&o) noexcept : data_(std::move(o.data_)) { o.data_.clear(); }
	SecureBytes &operator=(const SecureBytes &o)
	{
		if (this != &o) {
			wipe();
			data_ = o.data_;
		}
		return *this;
	}
	SecureBytes &operator=(SecureBytes &&o) noexcept
	{
		if (this != &o) {
			wipe();
			data_ = std::move(o.data_);
			o.data_.clear();
		}
		return *this;
	}
	~SecureBytes() { wipe(); }

	std::uint8_t *data() { return data_.data(); }
	const std::uint8_t *data() const { return data_.data(); }
	std::size_t size() const { return data_.size(); }
	bool empty() const { return data_.empty(); }
	std::uint8_t &operator[](std::size_t i) { return data_[i]; }
	const std::uint8_t &operator[](std::size_t i) const { return data_[i]; }
	void clear() { wipe(); }
	// A plain copy for APIs that need one; the caller owns its wiping.
	Bytes to_bytes() const { return data_; }

	// Constant-time equality (CRYPTO_memcmp); different sizes compare unequal.
	bool equals(const std::uint8_t *p, std::size_t n) const
	{
		return n == data_.size() && CRYPTO_memcmp(data_.data(), p, n) == 0;
	}

private:
	void wipe() noexcept
	{
		if (!data_.empty())
			OPENSSL_cleanse(data_.data(), data_.size());
		data_.clear();
	}
	Bytes data_;
};

} // namespace vcard
