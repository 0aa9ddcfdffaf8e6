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

namespace lodge::daemon {

struct SparseFileBody {
    struct value_type {
        std::shared_ptr<UploadedFile> file; // its fd is open for writing
        std::uint64_t size = 0;
    };

    class reader {
    public:
        template <bool isRequest, class Fields>
        reader(boost::beast::http::header<isRequest, Fields>&, value_type& body) : body_(body) {}

        void init(const boost::optional<std::uint64_t>&, boost::beast::error_code& ec) { ec = {}; }

        template <class ConstBufferSequence>
        std::size_t put(const ConstBufferSequence& buffers, boost::beast::error_code& ec) {
            std::size_t total = 0;
            for (auto it = boost::asio::buffer_sequence_begin(buffers); it != boost::asio::buffer_sequence_end(buffers);
                 ++it) {
                const char* data = static_cast<const char*>(it->data());
                std::size_t left = it->size();
                while (left > 0) {
                    // Whole zero blocks at block-aligned offsets become holes.
                    const std::size_t in_block = kBlock - body_.size % kBlock;
                    const std::size_t n = std::min(left, in_block);
                    if (n == kBlock && is_zero(data, n)) {
                        if (::lseek(body_.file->fd, static_cast<off_t>(n), SEEK_CUR) < 0) return fail(ec, total);
                    } else if (!write_all(data, n)) {
                        return fail(ec, total);
                    }
                    body_.size += n;
                    data += n;
                    left -= n;
                    total += n;
                }
            }
            ec = {};
            return total;
        }

        void finish(boost::beast::error_code& ec) {
            // A trailing hole needs the size set explicitly.
            if (::ftruncate(body_.file->fd, static_cast<off_t>(body_.size)) < 0)
                ec = boost::beast::error_code(errno, boost::system::generic_category());
            else
                ec = {};
        }

    private:
        static constexpr std::size_t kBlock = 64 * 1024;

        static bool is_zero(const char* p, std::size_t n) {
            return p[0] == 0 && std::memcmp(p, p + 1, n - 1) == 0;
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
    };
};

} // namespace lodge::daemon
