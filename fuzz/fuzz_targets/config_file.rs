//! A configuration file (and command line) over arbitrary bytes: `split_args` never
//! panics and reads `repr`'s quoting back whole; `load` never panics, refuses with a line
//! number inside the text, and an `include` of the same bytes nests only so deep; and
//! CONFIG REWRITE's text of a file that loads loads back to the same settings.

#![no_main]

use libfuzzer_sys::fuzz_target;
use redish_core::db::Config;
use redish_core::server::config_file::{
    load, options_text, repr, rewrite, split_args, ConfigFileError,
};

fuzz_target!(|data: &[u8]| {
    if let Some(args) = split_args(data) {
        let line: Vec<String> = args.iter().map(|a| repr(a)).collect();
        assert_eq!(split_args(line.join(" ").as_bytes()).as_ref(), Some(&args));
    }
    let text = String::from_utf8_lossy(data);
    let mut config = Config::default();
    let mut includes = 0;
    let result = load(&mut config, &text, &mut |_| {
        includes += 1;
        Ok(vec![text.to_string()])
    });
    if let Err(ConfigFileError::Line { number, .. }) = result {
        assert!(number >= 1 && number <= text.split('\n').count());
    }
    // A file that loads (includes reading as nothing) rewrites to one that loads back to
    // the same settings.
    let mut loaded = Config::default();
    if load(&mut loaded, &text, &mut |_| Ok(vec![])).is_ok() {
        let new = rewrite(&text, &loaded);
        let mut again = Config::default();
        load(&mut again, &new, &mut |_| Ok(vec![])).expect("the rewritten file loads");
        let all = |c: &Config| c.all().map(|(n, v)| (n.to_owned(), v)).collect::<Vec<_>>();
        assert_eq!(all(&again), all(&loaded), "{new}");
    }
    let words: Vec<String> = text.split(' ').map(str::to_owned).collect();
    let _ = load(&mut Config::default(), &options_text(&words), &mut |_| {
        Ok(vec![])
    });
});
