#pragma once
// Private to the gateway module: not part of meshd's public headers (include/meshd/).

#include <boost/asio/buffer.hpp>
#include <cstring>
#include <memory>
#include <string_view>

namespace meshd::gateway {

/// A fixed-size read buffer for one connection, allocated once: bytes are
/// read in at the end and parsed from the front. Unread bytes move to the
/// front only when a read needs the room, so views into a header stay
/// valid until the next read.
class InputBuffer {
 public:
  explicit InputBuffer(std::size_t capacity) : data_(new char[capacity]), capacity_(capacity) {}

  std::string_view data() const { return {data_.get() + begin_, end_ - begin_}; }
  std::size_t size() const { return end_ - begin_; }
  bool full() const { return size() == capacity_; }

  void consume(std::size_t n) {
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;
  }
  void clear() { begin_ = end_ = 0; }

  /// The free space to read into (empty when full).
  boost::asio::mutable_buffer prepare() {
    if (begin_ > 0 && end_ == capacity_) {
      std::memmove(data_.get(), data_.get() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    return {data_.get() + end_, capacity_ - end_};
  }
  void commit(std::size_t n) { end_ += n; }

 private:
  std::unique_ptr<char[]> data_;
  std::size_t capacity_;
  std::size_t begin_ = 0, end_ = 0;
};

}  // namespace meshd::gateway
