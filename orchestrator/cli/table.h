// Table: rows of text cells printed as an aligned table, CSV or JSON.
//
// Every listing command builds one Table and prints it in the format the
// user chose with --format, so the three formats never drift apart.
// JSON cells keep their type (number, string, null) through TableCell.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "orchestrator/cli/context.h"

namespace orchard::cli {

class Table {
 public:
  explicit Table(std::vector<std::string> columns) : columns_(std::move(columns)) {}

  // A row of JSON scalars (strings, numbers, booleans or null), one per column.
  void AddRow(std::vector<nlohmann::json> cells) { rows_.push_back(std::move(cells)); }
  size_t size() const { return rows_.size(); }

  void Print(std::ostream& out, Format format) const;

  // How a scalar shows in the table and CSV forms (numbers to 6 significant
  // digits in tables; exact in CSV).
  static std::string CellText(const nlohmann::json& cell, bool exact);

 private:
  std::vector<std::string> columns_;
  std::vector<std::vector<nlohmann::json>> rows_;
};

// Quotes a CSV field when needed (RFC 4180).
std::string CsvField(const std::string& s);

}  // namespace orchard::cli
