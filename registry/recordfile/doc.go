// Package recordfile reads and writes files of degree-conferral records in
// the two import formats of DESIGN.md: CSV with a header row, and JSON Lines.
//
// A record file comes from outside the registry and is treated as hostile.
// The Reader streams it in bounded memory (no physical line longer than
// Options.MaxLineBytes and no CSV record longer than Options.MaxRecordBytes is
// ever held), never panics, and names the line of every problem. Problems
// with one record are reported in Row.Problems and reading goes on; only
// problems that make the rest of the file unreadable end reading with a
// *FileError.
//
// Messages name the field and the rule broken, never the value found, so
// that reports and logs carry no personal data.
//
// How values are written, in both formats unless said otherwise:
//   - Field names are those of Columns, exactly (lower-case snake_case).
//     CSV: a header row names the columns, in any order; a column may be
//     left out (the validator decides what is required), but not be unknown
//     or given twice. JSONL: an unknown key, or one given twice, is a problem.
//   - An empty CSV cell, and JSON null, mean "not given": the zero value.
//   - Dates are YYYY-MM-DD and must exist; months are YYYY-MM;
//     programme_years is a whole decimal number (a JSON number).
//   - thesis_classified is true or false, in any letter case in CSV since
//     spreadsheets write TRUE. 1/0 and yes/no are refused: the flag keeps a
//     thesis inside the registry (Art. 25) and is not guessed.
//   - thesis_keywords is ";"-separated in CSV, each keyword trimmed and empty
//     ones dropped; a JSON array of strings in JSONL.
//   - CSV follows RFC 4180 (encoding/csv); a UTF-8 byte order mark is
//     skipped and "\r\n" line ends are accepted in both formats.
package recordfile
