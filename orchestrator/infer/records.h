// The records workers write (docs/inference.md, "The worker"): reading them
// back to tell a finished shard from a short one, and merging the shards
// into the job's output.
//
// JSONL: one record per line. CSV (RFC 4180): a header line, then one record
// per input; a quoted field may span lines, so records are counted by
// quote parity, not by newlines. Streaming: memory does not grow with the
// file. Thread-compatible.
#pragma once

#include <cstdint>
#include <istream>
#include <string>
#include <vector>

#include "flags/status.h"
#include "orchestrator/infer/job.h"

namespace orchard::infer {

enum class OutFormat { kJsonl, kCsv };

Result<OutFormat> ParseOutFormat(const std::string& text);

// Reads whole records (without their line end) from a stream.
class RecordReader {
 public:
  RecordReader(std::istream& in, OutFormat format) : in_(in), format_(format) {}
  // The next complete record; false at the end. A last record without its
  // newline (or with an open quote) is not returned and sets truncated().
  bool Next(std::string& record);
  bool truncated() const { return truncated_; }

 private:
  std::istream& in_;
  OutFormat format_;
  bool truncated_ = false;
};

// What the merge checks in each record.
struct RecordInfo {
  std::string input;
  bool error = false;  // the record carries an error instead of a result
};

// Parses the `input` (and whether there is an `error`) of one record.
Result<RecordInfo> ParseRecord(const std::string& record, OutFormat format);

// The fields of one CSV record (RFC 4180).
std::vector<std::string> SplitCsv(const std::string& record);

// Records in the file (not counting a CSV header), or -1 when the file is
// missing, unreadable, truncated, or a CSV without a header.
int64_t CountRecords(const std::string& path, OutFormat format);

// A shard is done when its .out exists with one record per input.
bool ShardDone(const std::string& out_path, int64_t expected, OutFormat format);

struct MergeStats {
  int64_t records = 0;
  int64_t errors = 0;
};

// Concatenates the shards' .out files of work_dir in shard order into
// output.tmp (a CSV header once), checks that the records name exactly
// `inputs` in order, then renames output.tmp to output. A mismatch is
// Corruption naming the shard and record (and nothing is renamed).
Result<MergeStats> MergeShards(const std::string& work_dir, const std::vector<ShardRange>& shards,
                               const std::vector<std::string>& inputs, OutFormat format,
                               const std::string& output);

}  // namespace orchard::infer
