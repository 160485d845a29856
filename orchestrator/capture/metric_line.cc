#include "orchestrator/capture/metric_line.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <numeric>

namespace orchard::capture {
namespace {

// Keys whose values are kept verbatim in MetricRecord::extra.
constexpr std::string_view kExtraKeys[] = {"artifact", "summary", "env", "tag"};

bool IsExtraKey(std::string_view key) {
  return std::find(std::begin(kExtraKeys), std::end(kExtraKeys), key) != std::end(kExtraKeys);
}

bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// A short, printable rendering of a key for warnings.
std::string Printable(std::string_view key) {
  std::string out;
  for (unsigned char c : key.substr(0, 40)) {
    out.push_back(c < 0x20 || c == 0x7F ? '?' : static_cast<char>(c));
  }
  if (key.size() > 40) out += "...";
  return out;
}

// True when some name occurs twice. Cheap in the common case of none: a
// quadratic scan for a few names, sorted hashes for more.
bool HasDuplicateNames(const std::vector<std::pair<std::string, double>>& values) {
  const size_t n = values.size();
  if (n <= 8) {
    for (size_t i = 1; i < n; ++i) {
      for (size_t j = 0; j < i; ++j) {
        if (values[i].first == values[j].first) return true;
      }
    }
    return false;
  }
  std::vector<std::pair<size_t, uint32_t>> hashes(n);
  for (size_t i = 0; i < n; ++i) hashes[i] = {std::hash<std::string>()(values[i].first), i};
  std::sort(hashes.begin(), hashes.end());
  for (size_t i = 1; i < n; ++i) {
    if (hashes[i].first == hashes[i - 1].first &&
        values[hashes[i].second].first == values[hashes[i - 1].second].first) {
      return true;
    }
  }
  return false;
}

// Keeps the first position and the last value of each duplicated name.
void DedupeKeepLast(std::vector<std::pair<std::string, double>>* values) {
  if (!HasDuplicateNames(*values)) return;
  const size_t n = values->size();
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return (*values)[a].first < (*values)[b].first;
  });
  std::vector<bool> dead(n, false);
  for (size_t i = 0; i < n;) {
    size_t j = i + 1;
    while (j < n && (*values)[order[j]].first == (*values)[order[i]].first) ++j;
    if (j - i > 1) {
      (*values)[order[i]].second = (*values)[order[j - 1]].second;
      for (size_t k = i + 1; k < j; ++k) dead[order[k]] = true;
    }
    i = j;
  }
  size_t w = 0;
  for (size_t r = 0; r < n; ++r) {
    if (dead[r]) continue;
    if (w != r) (*values)[w] = std::move((*values)[r]);
    ++w;
  }
  values->resize(w);
}

// A single-pass, iterative JSON reader specialised for one flat record
// object. Nested values are validated without recursion (depth-limited), so
// no input can exhaust the stack; only reserved extra values are handed to
// nlohmann::json, after they have been validated and depth-checked here.
class RecordParser {
 public:
  // `base` is the offset of `text` within the whole line, for error messages.
  RecordParser(std::string_view text, size_t base) : s_(text), base_(base) {}

  // Parses the record into `out`; false with an error message otherwise.
  bool Parse(ParseResult* out);
  std::string TakeError() { return std::move(error_); }

 private:
  enum class ValueType { kString, kNumber, kNonFinite, kLiteral, kComposite };

  bool Fail(std::string_view what) {
    error_ = std::string(what) + " at byte " + std::to_string(base_ + pos_);
    return false;
  }
  bool Truncated() { return Fail("truncated JSON"); }
  void SkipSpace() {
    while (pos_ < s_.size() && IsJsonSpace(s_[pos_])) ++pos_;
  }
  bool AtEnd() const { return pos_ >= s_.size(); }

  bool ReadString(std::string* decoded);
  bool ReadUtf8Tail(unsigned char lead);
  bool ReadEscape(std::string* decoded);
  bool ReadNumber(bool* integral);
  bool ReadLiteral(std::string_view word);
  bool ReadValue(int depth, ValueType* type);
  bool SkipComposite(int depth);

  bool ToCount(std::string_view key, std::string_view text, bool integral, int64_t* out);
  void Warn(ParseResult* out, std::string msg) {
    if (out->warnings.size() < ParseResult::kMaxWarnings) out->warnings.push_back(std::move(msg));
  }

  std::string_view s_;
  size_t base_;
  size_t pos_ = 0;
  std::string error_;
};

// Reads a string starting at the opening quote. When `decoded` is null the
// string is only validated.
bool RecordParser::ReadString(std::string* decoded) {
  ++pos_;  // opening quote
  while (true) {
    // Fast scan over plain ASCII.
    size_t start = pos_;
    while (pos_ < s_.size()) {
      unsigned char c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
      ++pos_;
    }
    if (decoded) decoded->append(s_.data() + start, pos_ - start);
    if (AtEnd()) return Truncated();
    unsigned char c = static_cast<unsigned char>(s_[pos_]);
    if (c == '"') {
      ++pos_;
      return true;
    }
    if (c == '\\') {
      if (!ReadEscape(decoded)) return false;
    } else if (c < 0x20) {
      return Fail(c == 0 ? "NUL byte in string" : "control character in string");
    } else {
      size_t lead_pos = pos_;
      if (!ReadUtf8Tail(c)) return false;
      if (decoded) decoded->append(s_.data() + lead_pos, pos_ - lead_pos);
    }
  }
}

// Validates one multi-byte UTF-8 sequence whose lead byte is at pos_.
bool RecordParser::ReadUtf8Tail(unsigned char lead) {
  int extra;
  unsigned char lo = 0x80, hi = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    extra = 1;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    extra = 2;
    if (lead == 0xE0) lo = 0xA0;
    if (lead == 0xED) hi = 0x9F;  // no UTF-16 surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    extra = 3;
    if (lead == 0xF0) lo = 0x90;
    if (lead == 0xF4) hi = 0x8F;
  } else {
    return Fail("invalid UTF-8");
  }
  ++pos_;
  for (int i = 0; i < extra; ++i, ++pos_) {
    if (AtEnd()) return Truncated();
    unsigned char c = static_cast<unsigned char>(s_[pos_]);
    if (i == 0 ? (c < lo || c > hi) : (c < 0x80 || c > 0xBF)) return Fail("invalid UTF-8");
  }
  return true;
}

bool RecordParser::ReadEscape(std::string* decoded) {
  ++pos_;  // backslash
  if (AtEnd()) return Truncated();
  char e = s_[pos_++];
  char simple = 0;
  switch (e) {
    case '"': simple = '"'; break;
    case '\\': simple = '\\'; break;
    case '/': simple = '/'; break;
    case 'b': simple = '\b'; break;
    case 'f': simple = '\f'; break;
    case 'n': simple = '\n'; break;
    case 'r': simple = '\r'; break;
    case 't': simple = '\t'; break;
    case 'u': break;
    default: --pos_; return Fail("invalid escape in string");
  }
  if (simple) {
    if (decoded) decoded->push_back(simple);
    return true;
  }
  auto read_hex4 = [this](uint32_t* v) {
    if (s_.size() - pos_ < 4) return Truncated();
    *v = 0;
    for (int i = 0; i < 4; ++i) {
      int h = HexValue(s_[pos_ + i]);
      if (h < 0) return Fail("invalid \\u escape");
      *v = *v * 16 + h;
    }
    pos_ += 4;
    return true;
  };
  uint32_t cp = 0;
  if (!read_hex4(&cp)) return false;
  if (cp >= 0xDC00 && cp <= 0xDFFF) return Fail("unpaired UTF-16 surrogate");
  if (cp >= 0xD800 && cp <= 0xDBFF) {
    if (s_.size() - pos_ < 2) return Truncated();
    if (s_[pos_] != '\\' || s_[pos_ + 1] != 'u') return Fail("unpaired UTF-16 surrogate");
    pos_ += 2;
    uint32_t low = 0;
    if (!read_hex4(&low)) return false;
    if (low < 0xDC00 || low > 0xDFFF) return Fail("unpaired UTF-16 surrogate");
    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
  }
  if (decoded) AppendUtf8(cp, decoded);
  return true;
}

// RFC 8259 number grammar; `integral` is false when it has a fraction or
// exponent.
bool RecordParser::ReadNumber(bool* integral) {
  auto digit = [this] { return !AtEnd() && s_[pos_] >= '0' && s_[pos_] <= '9'; };
  *integral = true;
  if (s_[pos_] == '-') ++pos_;
  if (AtEnd()) return Truncated();
  if (s_[pos_] == '0') {
    ++pos_;
  } else if (digit()) {
    while (digit()) ++pos_;
  } else {
    return Fail("invalid number");
  }
  if (!AtEnd() && s_[pos_] == '.') {
    *integral = false;
    ++pos_;
    if (AtEnd()) return Truncated();
    if (!digit()) return Fail("invalid number");
    while (digit()) ++pos_;
  }
  if (!AtEnd() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
    *integral = false;
    ++pos_;
    if (!AtEnd() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
    if (AtEnd()) return Truncated();
    if (!digit()) return Fail("invalid number");
    while (digit()) ++pos_;
  }
  if (digit()) return Fail("invalid number");  // e.g. a leading zero: 012
  return true;
}

bool RecordParser::ReadLiteral(std::string_view word) {
  std::string_view rest = s_.substr(pos_, word.size());
  if (rest == word) {
    pos_ += word.size();
    return true;
  }
  if (word.substr(0, rest.size()) == rest) return Truncated();
  return Fail("invalid JSON value");
}

// Reads any value at pos_. `depth` is the nesting depth of the container
// that holds it. Non-finite tokens are accepted only at depth 1.
bool RecordParser::ReadValue(int depth, ValueType* type) {
  if (AtEnd()) return Truncated();
  char c = s_[pos_];
  switch (c) {
    case '"': *type = ValueType::kString; return ReadString(nullptr);
    case '{':
    case '[': *type = ValueType::kComposite; return SkipComposite(depth);
    case 't': *type = ValueType::kLiteral; return ReadLiteral("true");
    case 'f': *type = ValueType::kLiteral; return ReadLiteral("false");
    case 'n': *type = ValueType::kLiteral; return ReadLiteral("null");
    default: break;
  }
  if (depth == 1) {
    if (c == 'N') { *type = ValueType::kNonFinite; return ReadLiteral("NaN"); }
    if (c == 'I') { *type = ValueType::kNonFinite; return ReadLiteral("Infinity"); }
    if (c == '-' && pos_ + 1 < s_.size() && s_[pos_ + 1] == 'I') {
      *type = ValueType::kNonFinite;
      return ReadLiteral("-Infinity");
    }
  }
  if (c == '-' || (c >= '0' && c <= '9')) {
    bool integral;
    *type = ValueType::kNumber;
    return ReadNumber(&integral);
  }
  return Fail("invalid JSON value");
}

// Validates a nested object or array at pos_ without recursion.
bool RecordParser::SkipComposite(int depth) {
  std::array<char, kMaxRecordDepth + 1> open;  // closing bracket per level
  int top = 0;
  bool need_value = true;
  while (true) {
    if (need_value) {
      SkipSpace();
      if (AtEnd()) return Truncated();
      char c = s_[pos_];
      if (c == '{' || c == '[') {
        if (depth + top + 1 > kMaxRecordDepth) return Fail("JSON nested too deeply");
        open[top++] = c == '{' ? '}' : ']';
        ++pos_;
        SkipSpace();
        if (AtEnd()) return Truncated();
        if (s_[pos_] == open[top - 1]) {
          ++pos_;
          --top;
          need_value = false;
        } else if (c == '{') {
          if (s_[pos_] != '"') return Fail("expected a string key");
          if (!ReadString(nullptr)) return false;
          SkipSpace();
          if (AtEnd()) return Truncated();
          if (s_[pos_] != ':') return Fail("expected ':'");
          ++pos_;
        }
        continue;
      }
      ValueType type;
      if (!ReadValue(depth + top, &type)) return false;
      need_value = false;
    }
    if (top == 0) return true;
    SkipSpace();
    if (AtEnd()) return Truncated();
    char c = s_[pos_];
    if (c == open[top - 1]) {
      ++pos_;
      --top;
    } else if (c == ',') {
      ++pos_;
      if (open[top - 1] == '}') {
        SkipSpace();
        if (AtEnd()) return Truncated();
        if (s_[pos_] != '"') return Fail("expected a string key");
        if (!ReadString(nullptr)) return false;
        SkipSpace();
        if (AtEnd()) return Truncated();
        if (s_[pos_] != ':') return Fail("expected ':'");
        ++pos_;
      }
      need_value = true;
    } else {
      return Fail(open[top - 1] == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
    }
  }
}

bool RecordParser::ToCount(std::string_view key, std::string_view text, bool integral,
                           int64_t* out) {
  const std::string name(key);
  if (integral) {
    int64_t v = 0;
    auto r = std::from_chars(text.data(), text.data() + text.size(), v);
    if (r.ec == std::errc::result_out_of_range) return Fail(name + " out of range");
    if (r.ec != std::errc() || r.ptr != text.data() + text.size()) return Fail(name + " must be an integer");
    if (v < 0) return Fail(name + " must be non-negative");
    *out = v;
    return true;
  }
  double d = 0;
  auto r = std::from_chars(text.data(), text.data() + text.size(), d);
  if (r.ec == std::errc::result_out_of_range) {
    d = std::strtod(std::string(text).c_str(), nullptr);
  }
  if (!std::isfinite(d) || d >= 9.2e18) return Fail(name + " out of range");
  if (d != std::floor(d)) return Fail(name + " must be an integer");
  if (d < 0) return Fail(name + " must be non-negative");
  *out = static_cast<int64_t>(d);
  return true;
}

bool RecordParser::Parse(ParseResult* out) {
  MetricRecord& rec = out->record;
  SkipSpace();
  if (AtEnd()) return Fail("missing JSON object");
  if (s_[pos_] != '{') return Fail("not a JSON object");
  ++pos_;
  SkipSpace();
  if (AtEnd()) return Truncated();
  bool first = true;
  std::string key;
  while (true) {
    SkipSpace();
    if (AtEnd()) return Truncated();
    if (first && s_[pos_] == '}') {
      ++pos_;
      break;
    }
    first = false;
    if (s_[pos_] != '"') return Fail("expected a string key");
    key.clear();
    if (!ReadString(&key)) return false;
    SkipSpace();
    if (AtEnd()) return Truncated();
    if (s_[pos_] != ':') return Fail("expected ':'");
    ++pos_;
    SkipSpace();
    const size_t value_start = pos_;
    ValueType type;
    if (!ReadValue(1, &type)) return false;
    const std::string_view value = s_.substr(value_start, pos_ - value_start);

    if (key == "step" || key == "epoch") {
      if (type != ValueType::kNumber) {
        pos_ = value_start;
        return Fail(key + " must be an integer");
      }
      int64_t v = 0;
      bool integral = value.find_first_of(".eE") == std::string_view::npos;
      size_t end = pos_;
      pos_ = value_start;
      if (!ToCount(key, value, integral, &v)) return false;
      pos_ = end;
      (key == "step" ? rec.step : rec.epoch) = v;
    } else if (IsExtraKey(key)) {
      if (type == ValueType::kNonFinite) {
        Warn(out, "reserved key '" + key + "' skipped: non-finite value");
      } else {
        auto j = nlohmann::json::parse(value.begin(), value.end(), nullptr,
                                       /*allow_exceptions=*/false);
        if (j.is_discarded()) {
          // The text is valid JSON (checked above); only a number beyond a
          // double's range makes nlohmann refuse it.
          Warn(out, "reserved key '" + key + "' skipped: number out of range");
        } else {
          if (!rec.extra.is_object()) rec.extra = nlohmann::json::object();
          rec.extra[key] = std::move(j);
        }
      }
    } else if (type == ValueType::kNumber || type == ValueType::kNonFinite) {
      bool bad_name = key.empty() || key.size() > kMaxMetricNameBytes ||
                      std::any_of(key.begin(), key.end(), [](char c) {
                        return static_cast<unsigned char>(c) < 0x20 || c == 0x7F;
                      });
      double d = 0;
      if (bad_name) {
        Warn(out, key.empty() ? "metric with an empty name skipped"
             : key.size() > kMaxMetricNameBytes
                 ? "metric '" + Printable(key) + "' skipped: name longer than 200 bytes"
                 : "metric '" + Printable(key) + "' skipped: control character in name");
      } else if (type == ValueType::kNonFinite) {
        Warn(out, "metric '" + key + "' skipped: " + std::string(value));
      } else {
        auto r = std::from_chars(value.data(), value.data() + value.size(), d);
        if (r.ec == std::errc::result_out_of_range) {
          // Overflow or underflow: strtod tells which (rare path).
          d = std::strtod(std::string(value).c_str(), nullptr);
        }
        if (!std::isfinite(d)) {
          Warn(out, "metric '" + key + "' skipped: value out of range");
        } else {
          rec.values.emplace_back(key, d);  // duplicates are resolved at the end
        }
      }
    }
    // Other keys with non-numeric values are not metrics: ignored.

    SkipSpace();
    if (AtEnd()) return Truncated();
    if (s_[pos_] == ',') {
      ++pos_;
      continue;
    }
    if (s_[pos_] == '}') {
      ++pos_;
      break;
    }
    return Fail("expected ',' or '}'");
  }
  SkipSpace();
  if (!AtEnd()) return Fail("unexpected text after the JSON object");
  DedupeKeepLast(&rec.values);
  return true;
}

}  // namespace

ParseResult ParseLine(std::string_view line) {
  ParseResult result;
  if (line.substr(0, kMetricMarker.size()) != kMetricMarker) return result;  // kLog
  if (line.size() > kMaxRecordLineBytes) {
    result.kind = LineKind::kMalformed;
    result.error = "record line of " + std::to_string(line.size()) + " bytes is over the " +
                   std::to_string(kMaxRecordLineBytes) + "-byte limit";
    return result;
  }
  std::string_view body = line.substr(kMetricMarker.size());
  while (!body.empty() && IsJsonSpace(body.back())) body.remove_suffix(1);
  RecordParser parser(body, kMetricMarker.size());
  if (parser.Parse(&result)) {
    result.kind = LineKind::kMetric;
  } else {
    result.kind = LineKind::kMalformed;
    result.error = parser.TakeError();
    result.record = MetricRecord();
    result.warnings.clear();
  }
  return result;
}

}  // namespace orchard::capture
