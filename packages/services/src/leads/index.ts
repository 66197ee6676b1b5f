export { saveLead, type NewLead } from './save-lead.js';
export { listLeads } from './list-leads.js';
