//! Build-ids read from a real executable on disk: the C test target, which
//! is linked with `-Wl,--build-id` (SHA-1: 20 bytes). Kept out of the
//! published package, as it needs the unpublished coroner-test-support.

use coroner_capture::inspect::build_id_in_file;
use coroner_capture::inspect::build_id_in_header_page;

#[test]
fn the_test_target_has_a_20_byte_build_id_in_its_header_page() {
    let target = std::fs::read(coroner_test_support::target_path()).unwrap();
    let page = target
        .get(..4096)
        .expect("the target is larger than a page");
    let id = build_id_in_header_page(page).expect("target is linked with --build-id");
    assert_eq!(id.len(), 20);
}

#[test]
fn the_test_target_has_a_20_byte_build_id_on_disk() {
    let id = build_id_in_file(coroner_test_support::target_path()).expect("build-id");
    assert_eq!(id.len(), 20);
}
