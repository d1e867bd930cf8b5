//! Issue 12: the AWS files as the AWS CLI reads them, writes that never break them, no
//! secret in `-v`, and big or hostile files. Unit tests next to the code cover the rules;
//! these drive the binary.

mod common;

use common::{TestEnv, run};

#[test]
fn verbose_output_shows_only_the_program_of_a_credential_process() {
    let env = TestEnv::new();
    env.write(
        ".aws/config",
        "[profile src]\ncredential_process = SECRET_TOKEN=hunter2aa /bin/false --password hunter2bb\n[profile r]\nsource_profile = src\nmfa_serial = arn:aws:iam::123456789012:mfa/alice\nregion = us-east-1\nendpoint_url = http://127.0.0.1:9\n",
    );
    let r = run(env.awsmfa(&["-vv", "-p", "r", "login", "--token-code", "123456"]));
    assert_ne!(r.status, 0, "{r:?}");
    assert!(r.stderr.contains("credential_process `false`"), "{r:?}");
    assert!(!r.stderr.contains("hunter2"), "{r:?}");
}
