// Whitespace numeric table parser (std::from_chars; no locale, no allocation per number).
#include "icecore/ps_table.hpp"

#include <charconv>
#include <cmath>
#include <system_error>

namespace icecore {

namespace {
inline bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }
}  // namespace

TableParseResult parse_table(const char* text, std::size_t size, std::size_t n_cols) {
    TableParseResult res;
    res.values.reserve(n_cols * (size / (8 * n_cols + 1) + 1));
    const char* p = text;
    const char* end = text + size;
    std::size_t line = 0;
    while (p < end) {
        ++line;
        const char* eol = p;
        while (eol < end && *eol != '\n') ++eol;
        const char* q = p;
        while (q < eol && is_space(*q)) ++q;
        if (q == eol || *q == '#') {
            p = eol + 1;
            continue;
        }
        std::size_t col = 0;
        while (q < eol && *q != '#') {
            if (col == n_cols) {
                res.error_line = line;
                res.error = "more than " + std::to_string(n_cols) + " values";
                return res;
            }
            const char* s = q;
            if (*s == '+') ++s;
            double v = 0.0;
            const auto r = std::from_chars(s, eol, v);
            const char* stop = r.ptr;
            if (r.ec != std::errc() || (stop < eol && !is_space(*stop) && *stop != '#')) {
                const char* tok_end = q;
                while (tok_end < eol && !is_space(*tok_end)) ++tok_end;
                res.error_line = line;
                res.error = "column " + std::to_string(col + 1) + " is not a number: '" +
                            std::string(q, static_cast<std::size_t>(tok_end - q)).substr(0, 40) + "'";
                return res;
            }
            if (!std::isfinite(v)) {
                res.error_line = line;
                res.error = "column " + std::to_string(col + 1) + " is not finite";
                return res;
            }
            res.values.push_back(v);
            ++col;
            q = stop;
            while (q < eol && is_space(*q)) ++q;
        }
        if (col != n_cols) {
            res.error_line = line;
            res.error = "expected " + std::to_string(n_cols) + " values, found " + std::to_string(col);
            return res;
        }
        ++res.n_rows;
        p = eol + 1;
    }
    return res;
}

}  // namespace icecore
