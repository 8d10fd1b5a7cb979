use super::*;

const SHOP: &str = include_str!("../../tests/fixtures/shop.toml");

fn errors(text: &str) -> Vec<String> {
    match parse(text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.problems,
    }
}

#[test]
fn scratch() {
    let ok = parse(SHOP).unwrap();
    println!("{}", summary(&ok));
    for t in [
        SHOP.replace("database_sharding = { column = \"user_id\", algorithm = \"ds_mod\" }\ntable_sharding = { column = \"order_id\", algorithm = \"tbl_mod\" }\nkey_generator = { column = \"order_id\"", "database_shardng = { column = \"user_id\", algorithm = \"ds_mod\" }\ntable_sharding = { column = \"order_id\", algorithm = \"tbl_mod\" }\nkey_generator = { column = \"order_id\""),
        SHOP.replace("pool_max = 64", "pool_max = \"x\""),
        SHOP.replace("admin = true", "admin = true\nadmn = 1"),
        SHOP.replace("worker_id = 1", "worker_id = -1"),
        SHOP.replace("ring = { type = \"consistent_hash\", virtual_nodes = 160 }", "ring = { type = \"consistent_hash\", virtual_nodes = \"x\" }"),
        SHOP.replace("nodes = [\"ds_0.t_user\", \"ds_1.t_user\"]", "nodes = [1, 2]"),
        SHOP.replace("nodes = [\"ds_0.t_user\", \"ds_1.t_user\"]", ""),
        SHOP.replace("transaction_mode = \"xa\"", "transaction_mode = \"xb\""),
        SHOP.replace("[server]", "[server\n"),
        SHOP.replace("max_allowed_packet = 67108864", "max_allowed_packet = 67108864\nfoo.bar = 1"),
    ] {
        println!("---\n{}", errors(&t).join("\n"));
    }
}
