// The types of uPlot.esm.js, which the server serves beside the page's modules from the uplot package.
import uPlot from 'uplot';

export default uPlot;
