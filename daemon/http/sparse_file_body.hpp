// A Beast body that writes a request body into a file, leaving runs of
// zeroes as holes: a raw VM disk uploads as large as its virtual size but
// lands on disk as large as its data. Only server.cpp includes it (Beast).
#pragma once

#include "daemon/http/message.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/optional.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

namespace lodge::daemon {

struct SparseFileBody {
    struct value_type {
        std::shared_ptr<UploadedFile> file; // its fd is open for writing
        std::uint64_t size = 0;
    };

    class reader {
    public:
        template <bool isRequest, class Fields>
        reader(boost::beast::http::header<isRequest, Fields>&, value_type& body) : body_(body) { block_.reserve(kBlock); }

        void init(const boost::optional<std::uint64_t>&, boost::beast::error_code& ec) { ec = {}; }

        template <class ConstBufferSequence>
        std::size_t put(const ConstBufferSequence& buffers, boost::beast::error_code& ec) {
            // Pieces arrive in whatever sizes the socket gives: they are
            // gathered into whole blocks, and a block of zeroes is a hole.
            std::size_t total = 0;
            for (auto it = boost::asio::buffer_sequence_begin(buffers); it != boost::asio::buffer_sequence_end(buffers);
                 ++it) {
                const char* data = static_cast<const char*>(it->data());
                std::size_t left = it->size();
                while (left > 0) {
                    const std::size_t n = std::min(left, kBlock - block_.size());
                    block_.append(data, n);
                    data += n;
                    left -= n;
                    total += n;
                    if (block_.size() == kBlock && !flush()) return fail(ec, total);
                }
            }
            ec = {};
            return total;
        }

        void finish(boost::beast::error_code& ec) {
            // The last partial block, then the size: a trailing hole needs it.
            if (!flush() || ::ftruncate(body_.file->fd, static_cast<off_t>(body_.size)) < 0)
                ec = boost::beast::error_code(errno, boost::system::generic_category());
            else
                ec = {};
        }

    private:
        static constexpr std::size_t kBlock = 64 * 1024;

        static bool is_zero(const char* p, std::size_t n) {
            return p[0] == 0 && std::memcmp(p, p + 1, n - 1) == 0;
        }

        bool flush() {
            if (block_.empty()) return true;
            const bool zero = block_.size() == kBlock && is_zero(block_.data(), block_.size());
            const bool ok = zero ? ::lseek(body_.file->fd, static_cast<off_t>(kBlock), SEEK_CUR) >= 0
                                 : write_all(block_.data(), block_.size());
            body_.size += block_.size();
            block_.clear();
            return ok;
        }

        bool write_all(const char* p, std::size_t n) {
            while (n > 0) {
                ssize_t w = ::write(body_.file->fd, p, n);
                if (w < 0) {
                    if (errno == EINTR) continue;
                    return false;
                }
                p += w;
                n -= static_cast<std::size_t>(w);
            }
            return true;
        }

        std::size_t fail(boost::beast::error_code& ec, std::size_t done) {
            ec = boost::beast::error_code(errno, boost::system::generic_category());
            return done;
        }

        value_type& body_;
        std::string block_;
    };
};

} // namespace lodge::daemon
