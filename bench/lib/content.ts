// The benchmarks' message: a ~3 KB receipt-like body (the layout is added by rendering).

export function benchTemplate() {
  const b = sampleBody();
  return { subject: "Your order {{data.order}}", html: b.html.replace("Hello customer", "Hello {{customer.name}}"), text: b.text.replace("Hello customer", "Hello {{customer.name}}") };
}

export function sampleBody() {
  const rows = Array.from({ length: 12 }, (_, i) => `<tr><td>Item ${i}</td><td>1</td><td>€${(i * 3.5).toFixed(2)}</td></tr>`).join("");
  return {
    html: `<html><body><h1>Thanks for your order</h1><p>Hello customer, here is your receipt.</p><table>${rows}</table><p>Questions? Reply to this email.</p>${"<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit.</p>".repeat(20)}</body></html>`,
    text: `Thanks for your order\n\nHello customer, here is your receipt.\n${"Lorem ipsum dolor sit amet, consectetur adipiscing elit.\n".repeat(20)}`,
  };
}
