//! Trust and tamper (issue 13): each file is one attack surface, each test
//! an attack that worked on 0.1.0, tried through the real binaries.
mod cloned_repo;
mod database_guard;
mod init_umask;
mod races;
mod recipients;
mod recipients_config;
mod recover;
mod rollback;
mod routes;
mod sink_files;
mod values;
mod values_rotate;
mod watcher;
