// Fast parser for the whitespace-separated numeric tables of the IceCube public data releases.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace icecore {

struct TableParseResult {
    std::vector<double> values;  // row-major, n_rows x n_cols
    std::size_t n_rows = 0;
    std::size_t error_line = 0;  // 1-based line of the first problem (0: none)
    std::string error;           // what is wrong on that line
};

/// Parse `text` (the whole file) as a table of `n_cols` numbers per line. Lines whose first
/// non-blank character is '#' and blank lines are skipped; text after '#' on a data line is a
/// comment. Numbers must be finite. Stops at the first malformed line and reports it.
TableParseResult parse_table(const char* text, std::size_t size, std::size_t n_cols);

}  // namespace icecore
