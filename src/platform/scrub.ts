// Text from outside systems (SMTP replies, driver errors) may quote an email address: anything that
// looks like one is replaced before such text is logged, stored or put in a job's failure reason.
export const scrubAddresses = (s: string, max = 500) => s.replace(/[^\s<>"'(),;:]+@[^\s<>"'(),;:]+/g, "[address]").slice(0, max);
