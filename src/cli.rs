//! The command line: argument parsing and the headless printers.
