//! Every scenario of `redish_tests::scenarios`, once per adapter: `tokio::strings`,
//! `async_std::strings`, … A new scenario is a function there and a name here.

macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        mod tokio {
            $(
                #[test]
                fn $name() {
                    redish_tests::run(redish_tests::Adapter::Tokio, redish_tests::scenarios::$name);
                }
            )*
        }
        mod async_std {
            $(
                #[test]
                fn $name() {
                    redish_tests::run(redish_tests::Adapter::AsyncStd, redish_tests::scenarios::$name);
                }
            )*
        }
    };
}

scenarios!(
    operators_watch,
    strings,
    persistence_commands,
    keys_and_expiry,
    active_expiry,
    hashes,
    lists,
    blpop_woken_by_push,
    blpop_times_out,
    sets,
    sorted_sets,
    transactions,
    config,
    info,
    client_list_and_kill,
    pipelining,
    pubsub_fan_out,
    resp3,
    debug_sleep,
    client_pause,
    shutdown,
    maxclients,
    malformed_input,
    slow_subscriber,
    acl_dangerous_and_hello,
    auth_flood,
);
