// Splits a byte stream (as read from a pipe) into lines.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace orchard::capture {

/// LineSplitter turns arbitrary chunks of bytes into complete lines, without
/// their '\n', keeping the unterminated tail between calls. Memory stays
/// bounded: a line longer than `max_line` bytes is emitted in pieces of at
/// most `max_line` bytes, each flagged `overlong`, the last one with
/// `ends_line` set. Bytes are passed through untouched ('\r', NUL, invalid
/// UTF-8 included). Not thread-safe; one instance per stream.
class LineSplitter {
 public:
  // Default: 1 MiB, far above the 64 KiB a record line may have.
  static constexpr size_t kDefaultMaxLine = 1024 * 1024;

  // A line or a piece of an overlong line. `text` is valid only during the
  // callback.
  struct Line {
    std::string_view text;
    bool overlong = false;   // part of a line longer than max_line
    bool ends_line = true;   // false for all but the last piece of a line
  };
  using Sink = std::function<void(const Line&)>;

  // REQUIRES: max_line >= 1.
  explicit LineSplitter(size_t max_line = kDefaultMaxLine);

  // Consumes `chunk`, calling `sink` for each line (or piece) it completes.
  void Feed(std::string_view chunk, const Sink& sink);

  // At end of stream: emits the unterminated last line, if any.
  void Flush(const Sink& sink);

  // Bytes held for the current unterminated line.
  size_t pending() const { return buf_.size(); }

 private:
  void Append(std::string_view part, const Sink& sink);

  size_t max_line_;
  std::string buf_;
  bool overlong_ = false;  // the current line has already emitted pieces
};

}  // namespace orchard::capture
