"""The failure story on a local AWS account: `make demo` and the e2e tests."""
