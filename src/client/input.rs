//! The people to act on: emails given as arguments, or read from `--from FILE` (one per
//! line, or a CSV with an `email` column; `-` reads standard input).
//!
//! Everything is validated before anything is sent: a typo in line 40 must not leave a
//! run half done.

use std::fmt;
use std::io::Read as _;
use std::path::Path;

/// Longest address we accept (RFC 5321 path limit).
const MAX_EMAIL_LEN: usize = 254;

/// Why the list of people could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError(pub String);

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InputError {}

/// The emails from the arguments, then from `from`, validated and without duplicates
/// (compared case-insensitively; the first spelling is kept).
pub fn collect_emails(args: &[String], from: Option<&Path>) -> Result<Vec<String>, InputError> {
    let mut emails = Vec::new();
    let mut problems = Vec::new();
    for (index, arg) in args.iter().enumerate() {
        match check_email(arg.trim()) {
            Ok(()) => emails.push(arg.trim().to_owned()),
            Err(why) => problems.push(format!("argument {}: `{}` {why}", index + 1, printable(arg))),
        }
    }
    if let Some(path) = from {
        let text = read_source(path)?;
        let name = path.display().to_string();
        match parse_email_list(&text, &name) {
            Ok(mut listed) => emails.append(&mut listed),
            Err(InputError(text)) => problems.push(text),
        }
    }
    if !problems.is_empty() {
        return Err(InputError(problems.join("\n")));
    }
    let emails = dedupe(emails);
    if emails.is_empty() {
        return Err(InputError("no email address given (pass them as arguments or with --from FILE)".into()));
    }
    Ok(emails)
}

fn read_source(path: &Path) -> Result<String, InputError> {
    let mut bytes = Vec::new();
    let result = if path.as_os_str() == "-" {
        std::io::stdin().read_to_end(&mut bytes).map(|_| ())
    } else {
        std::fs::File::open(path).and_then(|mut file| file.read_to_end(&mut bytes)).map(|_| ())
    };
    result.map_err(|err| InputError(format!("cannot read {}: {err}", path.display())))?;
    String::from_utf8(bytes).map_err(|_| InputError(format!("{} is not UTF-8 text", path.display())))
}

/// Parses a list of people: a CSV when the first meaningful line is a header with an
/// `email` column, else one address per line (blank lines and `#` comments ignored).
pub fn parse_email_list(text: &str, source: &str) -> Result<Vec<String>, InputError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text); // spreadsheet exports add a BOM
    let first_line = text.lines().map(str::trim).find(|line| !line.is_empty() && !line.starts_with('#'));
    match first_line.and_then(email_column) {
        Some(column) => parse_csv(text, column, source),
        None => parse_lines(text, source),
    }
}

/// The index of the `email` column if `line` is a CSV header that has one.
fn email_column(line: &str) -> Option<usize> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(line.as_bytes());
    let header = reader.records().next()?.ok()?;
    header.iter().position(|field| field.trim().eq_ignore_ascii_case("email"))
}

fn parse_lines(text: &str, source: &str) -> Result<Vec<String>, InputError> {
    let mut emails = Vec::new();
    let mut problems = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match check_email(line) {
            Ok(()) => emails.push(line.to_owned()),
            Err(why) if line.contains(',') => problems.push(format!(
                "{source}:{}: `{}` {why} (for a CSV, the first line must name an `email` column)",
                index + 1,
                printable(line)
            )),
            Err(why) => problems.push(format!("{source}:{}: `{}` {why}", index + 1, printable(line))),
        }
    }
    finish(emails, problems)
}

fn parse_csv(text: &str, column: usize, source: &str) -> Result<Vec<String>, InputError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut emails = Vec::new();
    let mut problems = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(err) => {
                let line = err.position().map_or(0, |p| p.line());
                problems.push(format!("{source}:{line}: not valid CSV ({err})"));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(str::is_empty) {
            continue;
        }
        let email = record.get(column).unwrap_or("");
        match check_email(email) {
            Ok(()) => emails.push(email.to_owned()),
            Err(why) => problems.push(format!("{source}:{line}: email `{}` {why}", printable(email))),
        }
    }
    finish(emails, problems)
}

fn finish(emails: Vec<String>, problems: Vec<String>) -> Result<Vec<String>, InputError> {
    if problems.is_empty() { Ok(emails) } else { Err(InputError(problems.join("\n"))) }
}

fn dedupe(emails: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    emails.into_iter().filter(|email| seen.insert(email.to_lowercase())).collect()
}

/// A deliberately plain check: one `@`, something on each side, nothing that cannot be
/// part of an address we would send (whitespace, control characters, list separators).
pub fn check_email(email: &str) -> Result<(), &'static str> {
    if email.is_empty() {
        return Err("is empty");
    }
    if email.len() > MAX_EMAIL_LEN {
        return Err("is too long to be an email address");
    }
    if email.chars().any(|c| c.is_whitespace() || c.is_control() || ",;<>\"()[]\\".contains(c)) {
        return Err("contains a character an email address cannot have here");
    }
    match email.split_once('@') {
        Some((local, domain)) if !local.is_empty() && !domain.is_empty() && !domain.contains('@') => {
            if domain.starts_with('.') || domain.ends_with('.') || domain.contains("..") {
                Err("has a malformed domain")
            } else {
                Ok(())
            }
        }
        _ => Err("is not an email address"),
    }
}

/// Shows user input in an error without letting it break the terminal.
fn printable(text: &str) -> String {
    text.chars().take(80).map(|c| if c.is_control() { '?' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_address_per_line_with_blanks_and_comments() {
        let text = "# people leaving today\na@example.com\n\n  b@example.com  \r\n# done\n";
        assert_eq!(parse_email_list(text, "f").expect("ok"), ["a@example.com", "b@example.com"]);
    }

    #[test]
    fn csv_with_an_email_column_anywhere() {
        let text = "\u{feff}name,Email,team\nAlice,alice@example.com,eng\n\"Bob, Jr\", bob@example.com ,ops\n,,\n";
        assert_eq!(parse_email_list(text, "f").expect("ok"), ["alice@example.com", "bob@example.com"]);
    }

    #[test]
    fn csv_with_only_an_email_header() {
        assert_eq!(parse_email_list("email\nc@example.com\n", "f").expect("ok"), ["c@example.com"]);
    }

    #[test]
    fn csv_errors_name_the_line() {
        let err =
            parse_email_list("name,email\nA,a@example.com\nB,not-an-address\nC\n", "people.csv").expect_err("bad rows");
        assert!(err.0.contains("people.csv:3: email `not-an-address` is not an email address"), "{err}");
        assert!(err.0.contains("people.csv:4: email `` is empty"), "{err}");
    }

    #[test]
    fn line_errors_name_the_line_and_hint_at_csv() {
        let err = parse_email_list("a@example.com\nname,mail\n", "list.txt").expect_err("bad");
        assert!(err.0.starts_with("list.txt:2:"), "{err}");
        assert!(err.0.contains("`email` column"), "{err}");
    }

    #[test]
    fn emails_are_checked() {
        for good in ["a@example.com", "first.last+tag@sub.example.co", "x@localhost"] {
            assert_eq!(check_email(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@b@c",
            "a b@example.com",
            "a@exa mple.com",
            "a@.example.com",
            "a@example..com",
            "<a@example.com>",
            "a@example.com\n",
        ] {
            assert!(check_email(bad).is_err(), "{bad:?}");
        }
        assert!(check_email(&format!("{}@example.com", "a".repeat(260))).is_err());
    }

    #[test]
    fn arguments_and_file_are_merged_and_deduplicated() {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        std::io::Write::write_all(&mut file, b"B@example.com\nc@example.com\n").expect("write");
        let args = vec!["a@example.com".to_owned(), "b@example.com".to_owned()];
        let emails = collect_emails(&args, Some(file.path())).expect("ok");
        assert_eq!(emails, ["a@example.com", "b@example.com", "c@example.com"]);
    }

    #[test]
    fn nothing_to_do_is_an_error() {
        assert!(collect_emails(&[], None).is_err());
        assert!(collect_emails(&["nope".to_owned()], None).is_err());
        assert!(collect_emails(&[], Some(Path::new("/nonexistent/people.txt"))).is_err());
    }
}
