#include "orchestrator/infer/records.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

namespace orchard::infer {

namespace fs = std::filesystem;

Result<OutFormat> ParseOutFormat(const std::string& text) {
  if (text == "jsonl") return OutFormat::kJsonl;
  if (text == "csv") return OutFormat::kCsv;
  return Status::InvalidArgument("--format " + text + ": expected jsonl or csv");
}

bool RecordReader::Next(std::string& record) {
  record.clear();
  std::string line;
  bool open_quote = false;
  bool any = false;
  while (std::getline(in_, line)) {
    bool had_newline = !in_.eof();
    if (!had_newline) {  // the stream ended without a newline: an unfinished record
      truncated_ = true;
      return false;
    }
    if (any) record += '\n';
    record += line;
    any = true;
    if (format_ == OutFormat::kCsv) {
      open_quote ^= (std::count(line.begin(), line.end(), '"') % 2) == 1;
      if (open_quote) continue;  // a quoted field goes on on the next line
    }
    if (!record.empty() && record.back() == '\r') record.pop_back();
    return true;
  }
  if (any) truncated_ = true;  // an open quote at the end
  return false;
}

std::vector<std::string> SplitCsv(const std::string& record) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < record.size(); ++i) {
    char c = record[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < record.size() && record[i + 1] == '"') {
          fields.back() += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  return fields;
}

Result<RecordInfo> ParseRecord(const std::string& record, OutFormat format) {
  RecordInfo info;
  if (format == OutFormat::kCsv) {
    // One pass without splitting every field (a feature record has
    // thousands): the first field unquoted, and where the last one starts.
    bool quoted = false;
    size_t first_end = std::string::npos, last_start = 0;
    for (size_t i = 0; i < record.size(); ++i) {
      char c = record[i];
      if (c == '"') {
        quoted = !quoted;
      } else if (c == ',' && !quoted) {
        if (first_end == std::string::npos) first_end = i;
        last_start = i + 1;
      }
    }
    if (first_end == std::string::npos) return Status::Corruption("not a record of input and values");
    info.input = SplitCsv(record.substr(0, first_end)).front();
    std::string_view last(record.data() + last_start, record.size() - last_start);
    info.error = !last.empty() && last != "\"\"";
    return info;
  }
  // JSONL: the worker writes "input" first; read just that string unless the
  // line may hold an error (parsing 1,000 features per line would dominate).
  size_t p = record.find_first_not_of(" \t");
  if (p == std::string::npos || record[p] != '{') return Status::Corruption("not a JSON object");
  size_t key = record.find("\"input\"", p);
  size_t colon = key == std::string::npos ? key : record.find_first_not_of(" \t", key + 7);
  bool fast = key != std::string::npos && record.find_first_not_of(" \t", p + 1) == key &&
              colon != std::string::npos && record[colon] == ':';
  size_t start = fast ? record.find_first_not_of(" \t", colon + 1) : std::string::npos;
  if (fast && start != std::string::npos && record[start] == '"') {
    size_t i = start + 1;
    while (i < record.size() && record[i] != '"') i += record[i] == '\\' ? 2 : 1;
    if (i < record.size()) {
      try {
        info.input = nlohmann::json::parse(record.substr(start, i - start + 1)).get<std::string>();
      } catch (const nlohmann::json::exception&) {
        fast = false;
      }
      if (fast && record.find("\"error\"", i) == std::string::npos) return info;
    }
  }
  try {
    nlohmann::json j = nlohmann::json::parse(record);
    if (!j.is_object() || !j.contains("input") || !j["input"].is_string()) {
      return Status::Corruption("no \"input\" string");
    }
    info.input = j["input"].get<std::string>();
    info.error = j.contains("error") && !j["error"].is_null();
    return info;
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption(std::string("not JSON: ") + e.what());
  }
}

int64_t CountRecords(const std::string& path, OutFormat format) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return -1;
  RecordReader reader(f, format);
  std::string rec;
  int64_t n = 0;
  while (reader.Next(rec)) ++n;
  if (reader.truncated() || f.bad()) return -1;
  if (format == OutFormat::kCsv) return n == 0 ? -1 : n - 1;
  return n;
}

bool ShardDone(const std::string& out_path, int64_t expected, OutFormat format) {
  return CountRecords(out_path, format) == expected;
}

namespace {

// A FILE* that is closed (and its temporary removed) unless released.
struct TmpOut {
  std::string path;
  std::FILE* f = nullptr;
  ~TmpOut() {
    if (f) {
      std::fclose(f);
      std::remove(path.c_str());
    }
  }
};

}  // namespace

Result<MergeStats> MergeShards(const std::string& work_dir, const std::vector<ShardRange>& shards,
                               const std::vector<std::string>& inputs, OutFormat format,
                               const std::string& output) {
  TmpOut out;
  out.path = output + ".tmp";
  out.f = std::fopen(out.path.c_str(), "wb");
  if (!out.f) return Status::IoError("cannot write " + out.path + ": " + std::strerror(errno));
  MergeStats stats;
  std::string header;
  int64_t next = 0;
  for (const auto& shard : shards) {
    const std::string name = ShardFileName(shard.index, "out");
    const std::string path = (fs::path(work_dir) / name).string();
    std::ifstream in(path, std::ios::binary);
    if (!in) return Status::IoError("cannot read " + path);
    RecordReader reader(in, format);
    std::string rec;
    int64_t line = 0;
    while (reader.Next(rec)) {
      ++line;
      if (format == OutFormat::kCsv && line == 1) {
        if (header.empty()) {
          header = rec;
          if (SplitCsv(rec).front() != "input") {
            return Status::Corruption(path + ": the first line is not a CSV header (input,...)");
          }
          std::fputs((rec + "\n").c_str(), out.f);
        } else if (rec != header) {
          return Status::Corruption(path + ": its CSV header differs from the first shard's");
        }
        continue;
      }
      auto info = ParseRecord(rec, format);
      if (!info.ok()) {
        return Status::Corruption(path + ": record " + std::to_string(line) + ": " +
                                  info.status().message());
      }
      int64_t want = shard.first + (next - shard.first);
      if (next >= shard.first + shard.count || next >= static_cast<int64_t>(inputs.size()) ||
          info->input != inputs[want]) {
        return Status::Corruption(
            path + ": record " + std::to_string(line) + " is for '" + info->input + "', expected " +
            (next < shard.first + shard.count ? "'" + inputs[want] + "'" : std::string("no more records")) +
            " (remove " + name + " and re-run to redo the shard)");
      }
      ++next;
      ++stats.records;
      if (info->error) ++stats.errors;
      rec += '\n';
      if (std::fwrite(rec.data(), 1, rec.size(), out.f) != rec.size()) {
        return Status::IoError("cannot write " + out.path + ": " + std::strerror(errno));
      }
    }
    if (reader.truncated()) return Status::Corruption(path + ": its last record is cut short");
    if (next != shard.first + shard.count) {
      return Status::Corruption(path + ": " + std::to_string(next - shard.first) + " records for " +
                                std::to_string(shard.count) + " inputs");
    }
  }
  if (stats.records != static_cast<int64_t>(inputs.size())) {
    return Status::Corruption("merged " + std::to_string(stats.records) + " records for " +
                              std::to_string(inputs.size()) + " inputs");
  }
  if (std::fflush(out.f) != 0 || fsync(fileno(out.f)) != 0) {
    return Status::IoError("cannot write " + out.path + ": " + std::strerror(errno));
  }
  std::FILE* f = out.f;
  out.f = nullptr;
  if (std::fclose(f) != 0) {
    std::remove(out.path.c_str());
    return Status::IoError("cannot write " + out.path + ": " + std::strerror(errno));
  }
  if (std::rename(out.path.c_str(), output.c_str()) != 0) {
    int e = errno;
    std::remove(out.path.c_str());
    return Status::IoError("cannot rename " + out.path + " to " + output + ": " + std::strerror(e));
  }
  return stats;
}

}  // namespace orchard::infer
