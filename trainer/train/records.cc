#include "trainer/train/records.h"

#include <cmath>
#include <cstdio>
#include <utility>

#include <nlohmann/json.hpp>

namespace orchard::trainer {

std::string FormatFloat(float value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(value));
  return buf;
}

std::string CsvField(std::string_view text) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(text);
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string JsonString(std::string_view text) {
  return nlohmann::json(std::string(text)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

namespace {

// JSON has no NaN or infinity.
std::string JsonNumber(float value) { return std::isfinite(value) ? FormatFloat(value) : "null"; }

}  // namespace

RecordWriter::RecordWriter(RecordFormat format, std::vector<std::string> class_names, int64_t top_k,
                           bool features, int64_t feature_dim)
    : format_(format), class_names_(std::move(class_names)), top_k_(top_k), features_(features),
      feature_dim_(feature_dim) {}

std::string RecordWriter::Header() const {
  if (format_ == RecordFormat::kJsonl) return "";
  std::string line = "input";
  if (features_) {
    for (int64_t i = 0; i < feature_dim_; ++i) line += ",f_" + std::to_string(i);
  } else {
    for (int64_t i = 1; i <= top_k_; ++i) {
      line += ",label_" + std::to_string(i) + ",prob_" + std::to_string(i);
    }
  }
  return line + ",error\n";
}

std::string RecordWriter::TopK(std::string_view input, const std::vector<Prediction>& top) const {
  std::string line;
  if (format_ == RecordFormat::kJsonl) {
    line = "{\"input\": " + JsonString(input) + ", \"top\": [";
    for (size_t i = 0; i < top.size(); ++i) {
      if (i > 0) line += ", ";
      line += "{\"label\": " + JsonString(class_names_[static_cast<size_t>(top[i].index)]) +
              ", \"index\": " + std::to_string(top[i].index) + ", \"prob\": " + JsonNumber(top[i].prob) +
              "}";
    }
    return line + "]}\n";
  }
  line = CsvField(input);
  for (const Prediction& p : top) {
    line += "," + CsvField(class_names_[static_cast<size_t>(p.index)]) + "," + FormatFloat(p.prob);
  }
  return line + ",\n";
}

std::string RecordWriter::Features(std::string_view input, const float* values) const {
  std::string line;
  if (format_ == RecordFormat::kJsonl) {
    line = "{\"input\": " + JsonString(input) + ", \"features\": [";
    for (int64_t i = 0; i < feature_dim_; ++i) {
      if (i > 0) line += ", ";
      line += JsonNumber(values[i]);
    }
    return line + "]}\n";
  }
  line = CsvField(input);
  for (int64_t i = 0; i < feature_dim_; ++i) line += "," + FormatFloat(values[i]);
  return line + ",\n";
}

std::string RecordWriter::Error(std::string_view input, std::string_view error) const {
  if (format_ == RecordFormat::kJsonl) {
    return "{\"input\": " + JsonString(input) + ", \"error\": " + JsonString(error) + "}\n";
  }
  const int64_t empty = features_ ? feature_dim_ : 2 * top_k_;
  return CsvField(input) + std::string(static_cast<size_t>(empty), ',') + "," + CsvField(error) + "\n";
}

}  // namespace orchard::trainer
