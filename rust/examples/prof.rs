use std::time::Instant;
fn main() {
    let path = std::env::args().nth(1).unwrap();
    let data = std::fs::read_to_string(path).unwrap();
    let texts: Vec<String> = data.lines().map(|l| {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        v["response"].as_str().unwrap().to_string()
    }).collect();
    let mb: f64 = texts.iter().map(|t| t.len()).sum::<usize>() as f64 / 1e6;
    let t = Instant::now();
    let mut worst = (0f64, 0usize);
    for (i, x) in texts.iter().enumerate() {
        let t1 = Instant::now();
        let tr = dlcot::parse(x, None);
        std::hint::black_box(&tr);
        let dt = t1.elapsed().as_secs_f64();
        if dt > worst.0 { worst = (dt, i); }
    }
    let dt = t.elapsed().as_secs_f64();
    println!("parse: {:.1} MB/s; worst {:.3}s at {} ({} bytes)", mb / dt, worst.0, worst.1, texts[worst.1].len());
    let t = Instant::now();
    for x in &texts { std::hint::black_box(dlcot::extract_answer(x)); }
    println!("extract_answer: {:.1} MB/s", mb / t.elapsed().as_secs_f64());
}
