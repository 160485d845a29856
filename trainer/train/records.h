// The records batch inference writes (docs/inference.md), one per input, as
// JSONL or CSV: the top labels with their probabilities, the embedding, or
// why the input could not be read. Pure text formatting, no torch, no I/O;
// `orchard-train finetune --write_predictions` writes the same JSONL, so a
// test can compare the trainer's own predictions with the worker's.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace orchard::trainer {

enum class RecordFormat { kJsonl, kCsv };

// One label of a top-k record.
struct Prediction {
  int64_t index = 0;  // into the class names
  float prob = 0;
};

// Formats records for one output file. Each method returns whole lines,
// ending in '\n'. Labels and inputs are JSON-escaped (invalid UTF-8 becomes
// U+FFFD) or CSV-quoted (RFC 4180) as needed; numbers have 9 significant
// digits, so a float reads back exactly. Immutable after construction:
// thread-safe.
class RecordWriter {
 public:
  // `top_k` labels per record (top-k mode) or, with `features`, a
  // `feature_dim`-long vector.
  RecordWriter(RecordFormat format, std::vector<std::string> class_names, int64_t top_k,
               bool features, int64_t feature_dim);

  // The CSV header line ("input,label_1,prob_1,...,error" or
  // "input,f_0,...,error"); empty for JSONL.
  std::string Header() const;
  // REQUIRES: top.size() == top_k, indices within the class names.
  std::string TopK(std::string_view input, const std::vector<Prediction>& top) const;
  // REQUIRES: `values` holds feature_dim floats.
  std::string Features(std::string_view input, const float* values) const;
  std::string Error(std::string_view input, std::string_view error) const;

 private:
  RecordFormat format_;
  std::vector<std::string> class_names_;
  int64_t top_k_;
  bool features_;
  int64_t feature_dim_;
};

// "%.9g"; non-finite values are "nan", "inf", "-inf" (JSONL writes null).
std::string FormatFloat(float value);
// RFC 4180: quoted when it holds a comma, quote, CR or LF; quotes doubled.
std::string CsvField(std::string_view text);
// A JSON string literal, quotes included.
std::string JsonString(std::string_view text);

}  // namespace orchard::trainer
