//! A configuration file (and command line) over arbitrary bytes: `split_args` never
//! panics and reads `repr`'s quoting back whole; `load` never panics, refuses with a line
//! number inside the text, and an `include` of the same bytes nests only so deep.

#![no_main]

use libfuzzer_sys::fuzz_target;
use redish_core::db::Config;
use redish_core::server::config_file::{load, options_text, repr, split_args, ConfigFileError};

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
    // What the configuration shows reads back as a configuration.
    let _ = config.get_matching(&[bytes::Bytes::from_static(b"*")]);
    let words: Vec<String> = text.split(' ').map(str::to_owned).collect();
    let _ = load(&mut Config::default(), &options_text(&words), &mut |_| {
        Ok(vec![])
    });
});
