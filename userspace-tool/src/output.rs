// SPDX-License-Identifier: GPL-2.0

//! Human output: aligned tables, and writing to stdout without dying on a
//! closed pipe (`iprpctl list | head`).

use std::io::{self, Write};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// A text table: a header row and rows of cells, each column padded to its
/// widest cell. The last column is not padded on the right.
#[derive(Debug, Clone)]
pub struct Table {
    columns: Vec<(String, Align)>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(columns: &[(&str, Align)]) -> Self {
        Table {
            columns: columns.iter().map(|&(h, a)| (h.to_string(), a)).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; missing cells are blank, extra cells are dropped.
    pub fn row<S: ToString>(&mut self, cells: impl IntoIterator<Item = S>) -> &mut Self {
        let mut r: Vec<String> = cells.into_iter().map(|c| c.to_string()).collect();
        r.resize(self.columns.len(), String::new());
        self.rows.push(r);
        self
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn render(&self) -> String {
        let width = |s: &str| s.chars().count();
        let mut widths: Vec<usize> = self.columns.iter().map(|(h, _)| width(h)).collect();
        for r in &self.rows {
            for (w, c) in widths.iter_mut().zip(r) {
                *w = (*w).max(width(c));
            }
        }
        let mut out = String::new();
        let header: Vec<String> = self.columns.iter().map(|(h, _)| h.clone()).collect();
        for r in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::new();
            for (i, ((c, (_, align)), w)) in r.iter().zip(&self.columns).zip(&widths).enumerate() {
                if i > 0 {
                    line.push_str("  ");
                }
                let pad = " ".repeat(w - width(c));
                match align {
                    Align::Left => {
                        line.push_str(c);
                        line.push_str(&pad);
                    }
                    Align::Right => {
                        line.push_str(&pad);
                        line.push_str(c);
                    }
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// Writes `text` to stdout. A reader that went away (EPIPE) is not an
/// error: the output simply stops, like other Unix tools.
pub fn print(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        r => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_aligned() {
        let mut t = Table::new(&[("COUNTER", Align::Left), ("VALUE", Align::Right)]);
        t.row(["pre_routing_pkts", "12"]).row(["x", "123456789"]);
        assert_eq!(
            t.render(),
            "COUNTER               VALUE\n\
             pre_routing_pkts         12\n\
             x                 123456789\n"
        );
    }

    #[test]
    fn short_rows_and_trailing_spaces() {
        let mut t = Table::new(&[("A", Align::Left), ("B", Align::Left)]);
        t.row(["long cell"]);
        assert_eq!(t.render(), "A          B\nlong cell\n");
        assert!(!t.is_empty());
    }
}
