#include "orchestrator/cli/table.h"

#include <algorithm>
#include <cstdio>

#include "flags/flag_value.h"

namespace orchard::cli {

namespace {

// Display width of UTF-8 text: counts code points, which is right for the
// names and numbers tables show.
size_t Width(const std::string& s) {
  size_t w = 0;
  for (unsigned char c : s) w += (c & 0xC0) != 0x80;
  return w;
}

// Control characters (a hostile run name with an escape sequence) are shown
// as '?' so a table cannot rewrite the user's terminal.
std::string Printable(std::string s) {
  for (char& c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return s;
}

}  // namespace

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string Table::CellText(const nlohmann::json& cell, bool exact) {
  if (cell.is_null()) return "";
  if (cell.is_string()) return cell.get<std::string>();
  if (cell.is_boolean()) return cell.get<bool>() ? "true" : "false";
  if (cell.is_number_float()) {
    if (exact) return flags::FormatDouble(cell.get<double>());
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", cell.get<double>());
    return buf;
  }
  return cell.dump();
}

void Table::Print(std::ostream& out, Format format) const {
  if (format == Format::kJson) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& row : rows_) {
      nlohmann::json obj = nlohmann::json::object();
      for (size_t i = 0; i < columns_.size() && i < row.size(); ++i) obj[columns_[i]] = row[i];
      arr.push_back(std::move(obj));
    }
    out << arr.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return;
  }
  if (format == Format::kCsv) {
    for (size_t i = 0; i < columns_.size(); ++i) out << (i ? "," : "") << CsvField(columns_[i]);
    out << "\n";
    for (const auto& row : rows_) {
      for (size_t i = 0; i < row.size(); ++i) out << (i ? "," : "") << CsvField(CellText(row[i], true));
      out << "\n";
    }
    return;
  }
  std::vector<std::vector<std::string>> text;
  std::vector<size_t> width(columns_.size());
  for (size_t i = 0; i < columns_.size(); ++i) width[i] = Width(columns_[i]);
  for (const auto& row : rows_) {
    std::vector<std::string> t;
    for (size_t i = 0; i < row.size() && i < columns_.size(); ++i) {
      std::string s = Printable(CellText(row[i], false));
      if (Width(s) > 60) {
        s = s.substr(0, 57) + "...";
      }
      width[i] = std::max(width[i], Width(s));
      t.push_back(std::move(s));
    }
    text.push_back(std::move(t));
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string l;
    for (size_t i = 0; i < cells.size(); ++i) {
      l += cells[i];
      if (i + 1 < cells.size()) l += std::string(width[i] - Width(cells[i]) + 2, ' ');
    }
    out << l << "\n";
  };
  line(columns_);
  for (const auto& t : text) line(t);
}

}  // namespace orchard::cli
